"""The storefront in a real browser: a shopper's journey through the gateway, as a person would click it.

Headless Chromium (:mod:`tests.browser`) against the isolated stack (real processes, real Postgres and
Kafka). The storefront uses only the public API; these tests check what it did through the same API.
A failing test writes a screenshot of each step to ``var/screenshots/storefront/<test>/``.
"""

from __future__ import annotations

import re
import uuid
from functools import partial

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from ops.isolated import Stack
from shared.testing import wait_until
from tests import shop
from tests.browser import Steps

pytestmark = pytest.mark.e2e

# How long the page may take to show what the API already did (an order settles well under a second).
PATIENCE = 30


# Wraps the page's fetch to note the Idempotency-Key of every checkout request it sends.
RECORD_CHECKOUT_KEYS = """
window.checkoutKeys = [];
const send = window.fetch;
window.fetch = (resource, options = {}) => {
  if (String(resource).endsWith("/api/v1/cart/checkout")) window.checkoutKeys.push(options.headers["Idempotency-Key"]);
  return send(resource, options);
};
"""


def until(driver: WebDriver, condition, what: str, timeout: float = PATIENCE):
    # A page being redrawn replaces its elements: one read may meet an element already gone.
    return WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda _: condition(), message=what)


def element(driver: WebDriver, css: str) -> WebElement:
    """The element once the page shows it."""
    return until(driver, lambda: next(iter(driver.find_elements(By.CSS_SELECTOR, css)), None), f"{css} on the page")


def notice(driver: WebDriver) -> str:
    return until(driver, lambda: driver.find_element(By.ID, "notice").text, "a notice on the page")


def fill(form: WebElement, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def open_shop(driver: WebDriver, stack: Stack, path: str = "/") -> None:
    driver.get(stack.url("gateway", path))
    element(driver, "#main > :not(.loading)")


def go(driver: WebDriver, link_css: str, ready_css: str) -> None:
    """Follows a link of the page (no reload) and waits for what the next page shows."""
    element(driver, link_css).click()
    element(driver, ready_css)


def cart_count(driver: WebDriver) -> int:
    return int(driver.find_element(By.ID, "cart-count").text or 0)


def stocked_products(stack: Stack, staff: dict[str, str], count: int, offset: int, available: int = 50) -> list[dict]:
    """Demo products of these tests' own slice, with ``available`` units once the catalog shows them."""
    found = shop.products(stack, count, offset=offset)
    for item in found:
        shop.set_available(stack, staff, item["id"], available)
        wait_until(
            partial(catalog_shows, stack, item["id"], available),
            timeout=PATIENCE,
            interval=0.2,
            what=f"the catalog to show {available} of {item['sku']}",
        )
    return found


def catalog_shows(stack: Stack, product_id: str, available: int) -> bool:
    return bool(shop.product(stack, product_id)["available"] == available)


def register_in_browser(driver: WebDriver) -> str:
    email = f"shopper-{uuid.uuid4().hex[:10]}@example.com"
    go(driver, "#account-links a[href='/register']", "#register-form")
    form = driver.find_element(By.ID, "register-form")
    fill(form, {"first_name": "Ada", "email": email, "password": shop.PASSWORD})
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    element(driver, "#orders-link")
    return email


def sign_in_in_browser(driver: WebDriver, email: str, password: str = shop.PASSWORD) -> None:
    form = element(driver, "#sign-in-form")
    fill(form, {"email": email, "password": password})
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def check_out(driver: WebDriver, payment_method: str, *, double_click: bool = False) -> str:
    """From the cart page: the address, a test card, Place order; the new order's id once its page shows."""
    go(driver, "#go-to-checkout", "#checkout-form")
    form = driver.find_element(By.ID, "checkout-form")
    fill(
        form,
        {
            "name": "Ada Lovelace",
            "line1": "12 Analytical Row",
            "postal_code": "10115",
            "city": "Berlin",
            "country": "Germany",
        },
    )
    form.find_element(By.CSS_SELECTOR, f"input[value='{payment_method}']").click()
    place = form.find_element(By.ID, "place-order")
    if double_click:
        driver.execute_script(RECORD_CHECKOUT_KEYS)
        ActionChains(driver).double_click(place).perform()
    else:
        place.click()
    until(driver, lambda: re.search(r"/orders/[0-9a-f-]{36}$", driver.current_url), "the new order's page")
    element(driver, "#order-status")
    return driver.current_url.rsplit("/", 1)[-1]


def shown_status(driver: WebDriver, status: str) -> WebElement:
    return element(driver, f"#order-status [data-status='{status}']")


def api_orders(stack: Stack, email: str) -> list[dict]:
    answer = httpx.get(stack.url("gateway", "/api/v1/orders"), headers=shop.sign_in(stack, email), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def add_from_product_page(driver: WebDriver, stack: Stack, product: dict) -> None:
    before = cart_count(driver)
    open_shop(driver, stack, f"/products/{product['id']}")
    element(driver, "#add-to-cart").click()
    until(driver, lambda: cart_count(driver) > before, f"{product['name']} in the cart")


def test_a_shopper_browses_fills_a_guest_cart_registers_pays_is_declined_cancels_and_signs_back_in(
    browser, steps: Steps, stack, staff
):
    first, second, third = stocked_products(stack, staff, 3, offset=46)
    low = stocked_products(stack, staff, 1, offset=41, available=3)[0]

    # Browse: search, then the product page with live availability.
    open_shop(browser, stack)
    steps("catalog")
    assert "products" in element(browser, "#result-count").text
    search = browser.find_element(By.ID, "search-input")
    search.send_keys(low["name"])
    browser.find_element(By.CSS_SELECTOR, "#search-form button").click()
    until(
        browser,
        lambda: (
            low["id"]
            in [
                card.get_attribute("data-product-id")
                for card in browser.find_elements(By.CSS_SELECTOR, "#product-grid .card")
            ]
        ),
        "the searched product",
    )
    steps("search")
    go(browser, f"#product-grid .card[data-product-id='{low['id']}'] .card-link", "#product-stock")
    assert browser.find_element(By.ID, "product-stock").text == "Only 3 left"
    steps("product-page")

    # Filter by price and sort: every price shown is within the range, in order.
    open_shop(browser, stack, "/?min=20&max=60&sort=-price")
    prices = [
        float(re.sub(r"[^\d.]", "", price.text))
        for price in browser.find_elements(By.CSS_SELECTOR, "#product-grid .price")
    ]
    assert prices and all(20 <= price <= 60 for price in prices) and prices == sorted(prices, reverse=True), prices
    assert Select(browser.find_element(By.ID, "filter-sort")).first_selected_option.get_attribute("value") == "-price"

    # A guest's cart: two products, kept in the browser.
    add_from_product_page(browser, stack, first)
    add_from_product_page(browser, stack, second)
    open_shop(browser, stack, "/cart")
    lines = [
        line.get_attribute("data-product-id") for line in browser.find_elements(By.CSS_SELECTOR, "#cart-lines .line")
    ]
    assert lines == [first["id"], second["id"]]
    steps("guest-cart")

    # Register: the browser's cart is merged into the shop's.
    email = register_in_browser(browser)
    steps("registered")
    assert [line["product_id"] for line in shop.cart(stack, shop.sign_in(stack, email))["items"]] == [
        first["id"],
        second["id"],
    ]
    open_shop(browser, stack, "/cart")
    assert cart_count(browser) == 2
    quantity = element(browser, f"#quantity-{second['id']}")
    quantity.clear()
    quantity.send_keys("2\t")
    until(browser, lambda: cart_count(browser) == 3, "the quantity to change")
    steps("signed-in-cart")

    # Checkout with a card that succeeds: confirmed, without reloading the page.
    browser.execute_script("window.sameDocument = true;")
    confirmed_id = check_out(browser, "pm_card_visa")
    steps("order-pending-or-confirmed")
    shown_status(browser, "confirmed")
    assert browser.execute_script("return window.sameDocument === true;"), "the page was reloaded"
    steps("order-confirmed")
    assert shop.order(stack, shop.sign_in(stack, email), confirmed_id)["status"] == "confirmed"
    assert cart_count(browser) == 0

    # Checkout with a declined card: rejected, with the reason in words.
    add_from_product_page(browser, stack, third)
    open_shop(browser, stack, "/cart")
    browser.execute_script("window.sameDocument = true;")
    rejected_id = check_out(browser, "pm_card_chargeDeclined")
    shown_status(browser, "rejected")
    assert browser.execute_script("return window.sameDocument === true;"), "the page was reloaded"
    assert element(browser, "#rejection-reason").text == "Payment declined: the card was declined."
    steps("order-rejected")
    assert not browser.find_elements(By.ID, "cancel-order")  # a rejected order cannot be cancelled

    # Cancel the confirmed order.
    open_shop(browser, stack, f"/orders/{confirmed_id}")
    shown_status(browser, "confirmed")
    element(browser, "#cancel-order").click()
    browser.switch_to.alert.accept()
    shown_status(browser, "cancelled")
    assert "cancelled" in element(browser, "#order-history").text.lower()
    steps("order-cancelled")
    assert {order["id"]: order["status"] for order in api_orders(stack, email)} == {
        confirmed_id: "cancelled",
        rejected_id: "rejected",
    }

    # A reload keeps the session: the access token is gone with the page, the refresh token gets a new one.
    browser.refresh()
    go(browser, "#orders-link", "#order-list")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#order-list .order-row")) == 2

    # Sign out, and back in.
    element(browser, "#sign-out").click()
    element(browser, "#sign-in-link")
    assert "signed out" in notice(browser)
    open_shop(browser, stack, "/orders")
    until(browser, lambda: "/signin" in browser.current_url, "the sign-in page for a signed-out shopper")
    sign_in_in_browser(browser, email)
    element(browser, "#order-list")  # back where it was going
    steps("signed-back-in")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#order-list .order-row")) == 2


def test_a_double_clicked_place_order_makes_one_order(browser, steps: Steps, stack, staff):
    (item,) = stocked_products(stack, staff, 1, offset=49)
    open_shop(browser, stack)
    email = register_in_browser(browser)
    add_from_product_page(browser, stack, item)
    open_shop(browser, stack, "/cart")

    order_id = check_out(browser, "pm_card_visa", double_click=True)
    shown_status(browser, "confirmed")
    steps("double-clicked")

    assert [order["id"] for order in api_orders(stack, email)] == [order_id]
    # The storefront's part (the shop refuses a second checkout of an emptied cart anyway): whatever it sent
    # for this attempt carried one Idempotency-Key, and nothing went wrong on the page.
    keys = browser.execute_script("return window.checkoutKeys;")
    assert len(keys) >= 1 and len(set(keys)) == 1, keys
    assert browser.find_element(By.ID, "notice").text == ""


def test_a_rate_limited_sign_in_says_when_to_try_again(browser, steps: Steps, stack):
    _, email = shop.register(stack, "throttled")
    open_shop(browser, stack, "/signin")

    # LOGIN_FAILURES_PER_EMAIL_AND_CLIENT: five wrong passwords, then 429 with Retry-After.
    for guess in range(5):
        sign_in_in_browser(browser, email, f"wrong-guess-{guess}")
        assert notice(browser) == "The email or password is wrong."
        browser.execute_script("document.getElementById('notice').textContent = '';")
    sign_in_in_browser(browser, email, shop.PASSWORD)

    message = notice(browser)
    steps("rate-limited")
    assert re.fullmatch(r"Too many attempts: try again in \d+ s\.", message), message
    assert "/signin" in browser.current_url


def test_a_revoked_session_sends_the_shopper_to_sign_in(browser, steps: Steps, stack):
    open_shop(browser, stack)
    email = register_in_browser(browser)
    headers = shop.sign_in(stack, email)
    changed = httpx.post(
        stack.url("gateway", "/api/v1/users/me/password"),
        json={"old_password": shop.PASSWORD, "new_password": "another-long-passphrase-7"},
        headers=headers,
        timeout=10,
    )
    assert changed.status_code == 204, changed.text  # ends every session of the user, this browser's too

    def sent_to_sign_in() -> bool:
        """Opens My orders from the page (no reload: the access token in memory is the one presented)."""
        go(browser, ".brand", "#product-grid")
        element(browser, "#orders-link").click()
        until(
            browser,
            lambda: browser.find_elements(By.ID, "orders-page") or "/signin" in browser.current_url,
            "the orders or the sign-in page",
        )
        return "/signin" in browser.current_url

    wait_until(sent_to_sign_in, timeout=PATIENCE, interval=0.5, what="the storefront to notice the revoked session")
    steps("session-ended")
    assert "session has ended" in notice(browser)
    assert browser.find_elements(By.ID, "sign-in-link")
    assert browser.execute_script("return localStorage.getItem('shop.refresh-token');") is None


def test_a_refused_access_token_is_refreshed_silently(browser, steps: Steps, stack, staff):
    open_shop(browser, stack)
    email = register_in_browser(browser)
    go(browser, "#orders-link", "#orders-page")  # the page now holds an access token in memory
    user_id = httpx.get(
        stack.url("gateway", "/api/v1/users/me"), headers=shop.sign_in(stack, email), timeout=10
    ).json()["id"]
    refresh_token = browser.execute_script("return localStorage.getItem('shop.refresh-token');")
    # Taking the staff role away revokes the user's access tokens, not the refresh tokens (docs/API.md).
    for role in ("staff", "customer"):
        answer = httpx.patch(
            stack.url("gateway", f"/api/v1/users/{user_id}"), json={"role": role}, headers=staff, timeout=10
        )
        assert answer.status_code == 200, answer.text

    def refreshed() -> bool:
        go(browser, ".brand", "#product-grid")
        go(browser, "#orders-link", "#orders-page")
        return browser.execute_script("return localStorage.getItem('shop.refresh-token');") != refresh_token

    wait_until(refreshed, timeout=PATIENCE, interval=0.5, what="the storefront to refresh the refused access token")
    steps("refreshed")
    assert browser.current_url.endswith("/orders")
    assert browser.find_elements(By.ID, "orders-link")
    assert browser.find_element(By.ID, "notice").text == ""


def test_the_shop_fits_a_phone(browser, steps: Steps, stack, staff):
    (item,) = stocked_products(stack, staff, 1, offset=43)
    browser.set_window_size(390, 844)
    for path in ("/", f"/products/{item['id']}", "/signin", "/register"):
        open_shop(browser, stack, path)
        steps(f"phone{path.replace('/', '-')}")
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
        assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
    add_from_product_page(browser, stack, item)
    open_shop(browser, stack, "/cart")
    steps("phone-cart")
    assert browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth;") <= 0


def test_an_unknown_page_is_the_shops_not_found_page(browser, stack):
    open_shop(browser, stack, "/no/such/page")

    assert element(browser, "#main h1").text == "Page not found"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors  # no CSP violation, no failed module
