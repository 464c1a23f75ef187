"""The back office in a real browser: staff sign into two services' admins with their user_svc account.

Headless Chromium (:mod:`tests.browser`) driven by Selenium against the whole stack as real processes.
Screenshots go to ``var/screenshots/backoffice/`` (not committed) for a person to look at.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from confluent_kafka import Producer
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from ops.isolated import Stack
from shared.testing import wait_until
from tests import shop
from tests.browser import gone
from tests.browser import screenshot as browser_screenshot

pytestmark = pytest.mark.e2e

# ADMIN_STAFF_RECHECK_SECONDS (5) plus room for a slow machine.
LOCKOUT_SECONDS = 20


def screenshot(driver: WebDriver, name: str) -> Path:
    return browser_screenshot(driver, "backoffice", name)


def admin_sign_in(driver: WebDriver, stack: Stack, service: str, email: str, password: str) -> None:
    """Fills in and submits ``service``'s admin login form, as a person would."""
    driver.get(stack.url(service, "/admin/login/?next=/admin/"))
    driver.find_element(By.NAME, "username").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    submit = driver.find_element(By.CSS_SELECTOR, "input[type=submit]")
    submit.click()
    # click() may return before the browser has left the login page: wait for the answer's page.
    WebDriverWait(driver, 30).until(lambda _: gone(submit))


def signed_in(driver: WebDriver) -> bool:
    """Whether the page is an admin page of a signed-in user (it offers to log out).

    Each test's browser starts with a fresh profile, so the user is the one the test signed in.
    """
    return bool(driver.find_elements(By.ID, "logout-form"))


def open_admin_page(driver: WebDriver, stack: Stack, service: str, path: str) -> str:
    """Opens ``path`` of ``service``'s admin and returns the page's text (fails on the login page)."""
    driver.get(stack.url(service, path))
    assert "/admin/login/" not in driver.current_url, f"{path} sent the browser to the login page"
    return driver.find_element(By.ID, "content").text


def placed_order(stack: Stack, staff: dict[str, str]) -> tuple[str, str]:
    """A settled order of a new customer: (order id, product id)."""
    item = shop.products(stack, 1, offset=44)[0]
    shop.set_available(stack, staff, item["id"], 10)
    buyer = shop.customer(stack)
    answer = shop.place(stack, buyer, [{"product_id": item["id"], "quantity": 1}])
    assert answer.status_code == 201, answer.text
    order_id = answer.json()["id"]
    shop.settled(stack, buyer, order_id)
    return order_id, item["id"]


def dead_lettered_message(stack: Stack) -> int:
    """Produces a message no consumer can read to the orders topic; the inventory consumer's dead letter row id."""
    key = f"poison-{uuid.uuid4().hex[:12]}"
    producer = Producer({"bootstrap.servers": stack.bootstrap})
    producer.produce(f"{stack.topic_prefix}orders", key=key.encode(), value=b"this is not an event envelope")
    assert producer.flush(10) == 0, "the poison message was not delivered to Kafka"

    def recorded() -> int | None:
        with psycopg.connect(stack.database_url("inventory")) as conn:
            row = conn.execute("SELECT id FROM shared_deadletter WHERE key = %s", [key]).fetchone()
        return row[0] if row else None

    return wait_until(recorded, timeout=60, interval=0.5, what=f"inventory to dead-letter {key}")


def register_staff(stack: Stack, staff: dict[str, str]) -> tuple[str, str]:
    """A second staff user (never the demo one, which other tests need): (user id, email)."""
    email = f"backoffice-{uuid.uuid4().hex[:10]}@example.com"
    registered = httpx.post(
        stack.url("gateway", "/api/v1/auth/register"), json={"email": email, "password": shop.PASSWORD}, timeout=30
    )
    assert registered.status_code == 201, registered.text
    user_id = registered.json()["id"]
    set_access(stack, staff, user_id, {"role": "staff"})
    return user_id, email


def set_access(stack: Stack, staff: dict[str, str], user_id: str, access: dict) -> None:
    answer = httpx.patch(stack.url("gateway", f"/api/v1/users/{user_id}"), json=access, headers=staff, timeout=30)
    assert answer.status_code == 200, answer.text


def test_demo_staff_opens_an_order_a_stock_item_and_a_dead_letter_in_two_services_admins(browser, stack, staff):
    order_id, product_id = placed_order(stack, staff)

    admin_sign_in(browser, stack, "order", shop.STAFF_EMAIL, shop.STAFF_PASSWORD)
    assert signed_in(browser), browser.page_source[:2000]
    browser.get(stack.url("order", f"/admin/orders/order/?q={order_id}"))
    browser.find_element(By.LINK_TEXT, order_id).click()
    page = browser.find_element(By.ID, "content").text
    screenshot(browser, "order-admin-order")
    assert order_id in page
    assert "buyer-" in page and "@example.com" in page  # the customer's email, from the projection
    assert "status history" in page.lower()  # the inline's heading, upper-cased by the admin's CSS
    story = browser.find_element(By.CSS_SELECTOR, "pre.saga-story").text  # from order and inventory (gRPC)
    assert story.startswith(f"Order {order_id}: confirmed")
    assert "(now reserved)" in story and "inventory  reservation of " in story
    assert "Waiting on: nothing (the order is confirmed)" in story

    admin_sign_in(browser, stack, "inventory", shop.STAFF_EMAIL, shop.STAFF_PASSWORD)
    assert signed_in(browser), browser.page_source[:2000]
    browser.get(stack.url("inventory", f"/admin/inventory/stockitem/?q={product_id}"))
    browser.find_element(By.CSS_SELECTOR, "#result_list tbody th a").click()
    page = browser.find_element(By.ID, "content").text
    screenshot(browser, "inventory-admin-stock-item")
    assert product_id in page

    dead_letter_id = dead_lettered_message(stack)
    page = open_admin_page(browser, stack, "inventory", f"/admin/shared/deadletter/{dead_letter_id}/change/")
    screenshot(browser, "inventory-admin-dead-letter")
    assert "this is not an event envelope" in page


def test_a_customer_is_refused_by_the_admin(browser, stack):
    email = f"customer-{uuid.uuid4().hex[:10]}@example.com"
    registered = httpx.post(
        stack.url("gateway", "/api/v1/auth/register"), json={"email": email, "password": shop.PASSWORD}, timeout=30
    )
    assert registered.status_code == 201, registered.text

    admin_sign_in(browser, stack, "order", email, shop.PASSWORD)

    screenshot(browser, "order-admin-customer-refused")
    assert "/admin/login/" in browser.current_url
    assert "Please enter the correct" in browser.find_element(By.CSS_SELECTOR, ".errornote").text
    assert not signed_in(browser)


def test_deactivating_a_staff_user_ends_their_open_admin_session_within_seconds(browser, stack, staff):
    user_id, email = register_staff(stack, staff)
    admin_sign_in(browser, stack, "order", email, shop.PASSWORD)
    assert signed_in(browser), browser.page_source[:2000]

    set_access(stack, staff, user_id, {"is_active": False})

    def signed_out() -> bool:
        browser.get(stack.url("order", "/admin/orders/order/"))
        return "/admin/login/" in browser.current_url

    wait_until(signed_out, timeout=LOCKOUT_SECONDS, interval=0.5, what=f"the order admin to sign {email} out")
    screenshot(browser, "order-admin-after-deactivation")
    admin_sign_in(browser, stack, "order", email, shop.PASSWORD)
    assert not signed_in(browser)
