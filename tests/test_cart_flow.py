"""The cart through the gateway on real processes: fill, change, merge, warnings, checkout, races, limits."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import httpx
import pytest

from shared.testing import wait_until
from tests.shop import (
    cart,
    cart_merge,
    cart_put,
    checkout,
    customer,
    new_product,
    payment_status_becomes,
    products,
    set_available,
    settled,
    stock,
)

pytestmark = pytest.mark.e2e

MERGES = 40


def quantities(found: dict) -> dict[str, int]:
    return {item["product_id"]: item["quantity"] for item in found["items"]}


def problem_code(answer: httpx.Response) -> str:
    assert answer.headers["content-type"] == "application/problem+json", answer.text
    return str(answer.json()["type"]).rsplit("/", 1)[-1]


def all_at_once(count: int, work: Callable[[int], httpx.Response]) -> list[int]:
    """The status codes of ``work(0..count-1)`` sent from as many threads at once."""
    start = threading.Barrier(count)
    codes: list[int] = []

    def run(index: int) -> None:
        start.wait(timeout=10)
        codes.append(work(index).status_code)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return codes


def test_fill_change_remove_merge_and_check_out_into_a_confirmed_order(stack, staff):
    buyer = customer(stack)
    mug = new_product(stack, staff, available=10, price="4.00")
    tea = new_product(stack, staff, available=10, price="2.50")

    assert cart(stack, buyer)["items"] == []
    assert cart_put(stack, buyer, mug["id"], 2).status_code == 200
    assert cart_put(stack, buyer, tea["id"], 1).status_code == 200
    changed = cart_put(stack, buyer, mug["id"], 3).json()
    assert quantities(changed) == {mug["id"]: 3, tea["id"]: 1}
    removed = httpx.delete(stack.url("gateway", f"/api/v1/cart/items/{tea['id']}"), headers=buyer, timeout=10)
    assert quantities(removed.json()) == {mug["id"]: 3}
    merged = cart_merge(
        stack, buyer, [{"product_id": mug["id"], "quantity": 1}, {"product_id": tea["id"], "quantity": 2}]
    ).json()
    assert quantities(merged) == {mug["id"]: 4, tea["id"]: 2}
    assert (merged["total"], merged["currency"], merged["warnings"]) == ("21.00", "USD", [])

    placed = checkout(stack, buyer, key="cart-checkout-1")
    assert placed.status_code == 201, placed.text
    assert placed.json()["total"] == "21.00"
    assert {(line["product_id"], line["quantity"]) for line in placed.json()["items"]} == {
        (mug["id"], 4),
        (tea["id"], 2),
    }
    assert cart(stack, buyer)["items"] == []
    order_id = placed.json()["id"]
    assert settled(stack, buyer, order_id)["status"] == "confirmed"
    assert payment_status_becomes(stack, buyer, order_id, "authorized")["payment_status"] == "authorized"
    assert stock(stack, staff, mug["id"])["available"] == 6

    again = checkout(stack, buyer, key="cart-checkout-1")
    assert (again.status_code, again.json()["id"]) == (200, order_id)
    assert problem_code(checkout(stack, buyer)) == "cart-empty"


def test_the_cart_warns_of_a_price_change_and_of_stock_that_ran_out(stack, staff):
    buyer = customer(stack)
    item = new_product(stack, staff, available=5, price="5.00")
    cart_put(stack, buyer, item["id"], 3)

    repriced = httpx.patch(
        stack.url("gateway", f"/api/v1/products/{item['id']}"), json={"price": "6.00"}, headers=staff, timeout=10
    )
    assert repriced.status_code == 200, repriced.text
    priced = cart(stack, buyer)
    assert (priced["items"][0]["unit_price"], priced["total"]) == ("6.00", "18.00")
    assert priced["warnings"] == [
        {"code": "price_changed", "product_id": item["id"], "old_price": "5.00", "new_price": "6.00"}
    ]

    set_available(stack, staff, item["id"], 1)
    short = wait_until(
        lambda: (found := cart(stack, buyer))["items"][0]["available"] == 1 and found,
        timeout=30,
        what="the catalog's stock projection to reach the cart",
    )
    assert {"code": "insufficient_stock", "product_id": item["id"], "available": 1} in short["warnings"]


def test_two_tabs_editing_one_cart_at_once_lose_nothing(stack, staff):
    buyer = customer(stack)
    shelf = products(stack, 10, offset=30)
    mug = shelf[0]["id"]

    # More requests than the web workers' 8 threads, so some always overlap inside the service.
    merged = all_at_once(MERGES, lambda n: cart_merge(stack, buyer, [{"product_id": mug, "quantity": 1}]))

    assert merged == [200] * MERGES
    assert quantities(cart(stack, buyer)) == {mug: MERGES}  # no merge lost to another

    added = all_at_once(
        10, lambda n: cart_put(stack, buyer, shelf[n]["id"], 2) if n else cart_put(stack, buyer, mug, 1)
    )

    assert added == [200] * 10
    assert quantities(cart(stack, buyer)) == {mug: 1} | {item["id"]: 2 for item in shelf[1:]}


def test_the_51st_product_is_refused_and_changes_nothing(stack, staff):
    buyer = customer(stack)
    fifty = products(stack, 50)
    filled = cart_merge(stack, buyer, [{"product_id": item["id"], "quantity": 1} for item in fifty])
    assert filled.status_code == 200, filled.text
    extra = new_product(stack, staff, available=1)

    refused = cart_put(stack, buyer, extra["id"], 1)

    assert (refused.status_code, problem_code(refused)) == (409, "cart-full")
    assert len(cart(stack, buyer)["items"]) == 50


def test_another_customers_cart_is_out_of_reach(stack, staff):
    owner, other = customer(stack), customer(stack)
    (item,) = products(stack, 1, offset=45)
    cart_put(stack, owner, item["id"], 2)

    assert cart(stack, other)["items"] == []
    assert httpx.delete(stack.url("gateway", "/api/v1/cart"), headers=other, timeout=10).status_code == 204
    assert problem_code(checkout(stack, other)) == "cart-empty"
    assert quantities(cart(stack, owner)) == {item["id"]: 2}
    anonymous = httpx.get(stack.url("gateway", "/api/v1/cart"), timeout=10)
    assert (anonymous.status_code, problem_code(anonymous)) == (401, "unauthorized")


def test_bad_input_is_a_problem_not_a_crash(stack):
    buyer = customer(stack)

    bad_id = cart_put(stack, buyer, "not-a-uuid", 1)
    unknown = cart_put(stack, buyer, str(uuid.uuid4()), 1)
    too_many = cart_put(stack, buyer, str(uuid.uuid4()), 1001)

    assert (bad_id.status_code, problem_code(bad_id)) == (404, "not-found")
    assert (unknown.status_code, problem_code(unknown)) == (404, "not-found")
    assert (too_many.status_code, problem_code(too_many)) == (400, "validation-error")
