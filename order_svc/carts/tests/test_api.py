"""The cart API: answers, the caller's own cart only, and every bad input as a 4xx problem."""

from __future__ import annotations

import uuid

import pytest
from orders.models import Order
from orders.tests.support import place_body

from carts.models import Cart, CartLine
from shared.testing.outbox import published_types

pytestmark = pytest.mark.django_db

CART = "/api/v1/cart"


def item_url(product_id) -> str:
    return f"{CART}/items/{product_id}"


def put(client, product_id, quantity):
    return client.put(item_url(product_id), {"quantity": quantity}, format="json")


def checkout(client, body=None, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    body = {"payment_method": "pm_card_visa"} if body is None else body
    return client.post(f"{CART}/checkout", body, format="json", **headers)


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"https://shop.example/problems/{code}"
    return body


def test_an_empty_cart_is_200_with_no_items(as_customer, catalog):
    response = as_customer.get(CART)

    assert response.status_code == 200
    assert response.json() == {"items": [], "total": "0.00", "currency": None, "warnings": [], "updated_at": None}


def test_putting_a_product_answers_the_cart_priced_live(as_customer, catalog):
    mug = catalog.add("MUG-1", "19.99", name="Mug", available=5)

    response = put(as_customer, mug, 2)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["items"] == [
        {
            "product_id": str(mug),
            "sku": "MUG-1",
            "name": "Mug",
            "unit_price": "19.99",
            "quantity": 2,
            "line_total": "39.98",
            "available": 5,
        }
    ]
    assert (body["total"], body["currency"], body["warnings"]) == ("39.98", "USD", [])
    assert body["updated_at"] == Cart.objects.get().updated_at.isoformat().replace("+00:00", "Z")
    assert as_customer.get(CART).json() == body


def test_the_warnings_name_a_price_change_and_short_stock(as_customer, catalog):
    mug = catalog.add("MUG-1", "10.00", available=1)
    put(as_customer, mug, 2)
    catalog.products[str(mug)].price = "9.00"

    warnings = as_customer.get(CART).json()["warnings"]

    assert warnings == [
        {"code": "price_changed", "product_id": str(mug), "old_price": "10.00", "new_price": "9.00"},
        {"code": "insufficient_stock", "product_id": str(mug), "available": 1},
    ]


def test_zero_and_delete_remove_a_line(as_customer, catalog):
    mug, tea = catalog.add("MUG-1"), catalog.add("TEA-1")
    put(as_customer, mug, 1)
    put(as_customer, tea, 1)

    after_zero = put(as_customer, mug, 0)
    after_delete = as_customer.delete(item_url(tea))

    assert [item["product_id"] for item in after_zero.json()["items"]] == [str(tea)]
    assert (after_delete.status_code, after_delete.json()["items"]) == (200, [])


def test_deleting_the_cart_is_204_and_empties_it(as_customer, catalog):
    put(as_customer, catalog.add("MUG-1"), 1)

    response = as_customer.delete(CART)

    assert (response.status_code, response.content) == (204, b"")
    assert as_customer.get(CART).json()["items"] == []


@pytest.mark.parametrize("is_active", [True, False])
def test_an_unknown_or_inactive_product_is_404(as_customer, catalog, is_active):
    product = uuid.uuid4() if is_active else catalog.add("OLD-1", is_active=False)

    assert_problem(put(as_customer, product, 1), 404, "not-found")
    assert CartLine.objects.count() == 0


def test_the_51st_product_is_409_cart_full(as_customer, catalog):
    products = [catalog.add(f"P-{n}") for n in range(51)]
    for product in products[:50]:
        assert put(as_customer, product, 1).status_code == 200

    body = assert_problem(put(as_customer, products[50], 1), 409, "cart-full")

    assert "50" in body["detail"]
    assert CartLine.objects.count() == 50


def test_merge_adds_up_caps_and_warns_about_products_no_longer_sold(as_customer, catalog):
    mug, tea = catalog.add("MUG-1", available=1000), catalog.add("TEA-1")
    old = catalog.add("OLD-1", is_active=False)
    put(as_customer, mug, 999)
    items = [{"product_id": str(p), "quantity": q} for p, q in [(mug, 5), (tea, 2), (old, 1)]]

    response = as_customer.post(f"{CART}/merge", {"items": items}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(item["product_id"], item["quantity"]) for item in body["items"]] == [(str(mug), 1000), (str(tea), 2)]
    assert body["warnings"] == [{"code": "unavailable", "product_id": str(old)}]


def test_a_merge_past_50_lines_is_409_and_changes_nothing(as_customer, catalog):
    products = [catalog.add(f"P-{n}") for n in range(51)]
    put(as_customer, products[0], 1)
    items = [{"product_id": str(product), "quantity": 1} for product in products[1:]]

    assert_problem(as_customer.post(f"{CART}/merge", {"items": items}, format="json"), 409, "cart-full")
    assert CartLine.objects.count() == 1


def test_checkout_answers_201_with_the_order_as_placing_it_would_and_empties_the_cart(as_customer, catalog):
    mug = catalog.add("MUG-1", "19.99", name="Mug")
    put(as_customer, mug, 2)

    response = checkout(as_customer)

    assert response.status_code == 201, response.content
    order = Order.objects.get()
    body = response.json()
    assert (body["id"], body["status"], body["total"], body["payment_method"]) == (
        str(order.id),
        "pending",
        "39.98",
        "pm_card_visa",
    )
    assert as_customer.get(f"/api/v1/orders/{order.id}").json() == body
    assert as_customer.get(CART).json()["items"] == []
    assert published_types() == ["order.placed"]


def test_a_retried_checkout_is_200_with_the_same_order(as_customer, catalog):
    put(as_customer, catalog.add("MUG-1"), 1)
    first = checkout(as_customer, key="retry")

    again = checkout(as_customer, key="retry")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert published_types() == ["order.placed"]


def test_a_checkout_key_reused_with_another_payment_method_is_409(as_customer, catalog):
    put(as_customer, catalog.add("MUG-1"), 1)
    checkout(as_customer, key="once")

    response = checkout(as_customer, {"payment_method": "pm_card_mastercard"}, key="once")

    assert_problem(response, 409, "idempotency-key-reused")


def test_a_key_of_a_direct_order_is_not_a_checkout(as_customer, catalog):
    mug = catalog.add("MUG-1")
    as_customer.post("/api/v1/orders", place_body((mug, 1)), format="json", HTTP_IDEMPOTENCY_KEY="same")
    put(as_customer, mug, 1)

    assert_problem(checkout(as_customer, key="same"), 409, "idempotency-key-reused")
    assert CartLine.objects.count() == 1


def test_checking_out_an_empty_cart_is_409(as_customer, catalog):
    assert_problem(checkout(as_customer), 409, "cart-empty")
    assert Order.objects.count() == 0


def test_another_customers_cart_is_out_of_reach(as_customer, as_other_customer, catalog):
    mug = catalog.add("MUG-1")
    put(as_customer, mug, 3)

    theirs = as_other_customer.get(CART).json()
    as_other_customer.delete(CART)
    as_other_customer.delete(item_url(mug))
    assert_problem(checkout(as_other_customer), 409, "cart-empty")

    assert theirs["items"] == []
    assert [item["quantity"] for item in as_customer.get(CART).json()["items"]] == [3]


def test_signed_out_is_401(anonymous):
    assert_problem(anonymous.get(CART), 401, "unauthorized")


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param({"quantity": 1001}, {"quantity": ["Ensure this value is less than or equal to 1000."]}, id="1001"),
        pytest.param({"quantity": -1}, {"quantity": ["Ensure this value is greater than or equal to 0."]}, id="-1"),
        pytest.param({"quantity": "2"}, {"quantity": ["A valid integer is required."]}, id="text"),
        pytest.param({"quantity": 1.5}, {"quantity": ["A valid integer is required."]}, id="fraction"),
        pytest.param({}, {"quantity": ["This field is required."]}, id="missing"),
        pytest.param(
            {"quantity": 1, "price": "0.01"}, {"price": ["Unknown field. Send only quantity."]}, id="unknown-field"
        ),
    ],
)
def test_a_bad_quantity_is_400_and_asks_nothing_of_the_catalog(as_customer, catalog, body, errors):
    response = as_customer.put(item_url(catalog.add("MUG-1")), body, format="json")

    assert assert_problem(response, 400, "validation-error")["errors"] == errors
    assert (catalog.requests, CartLine.objects.count()) == ([], 0)


@pytest.mark.parametrize("method", ["put", "delete"])
def test_a_malformed_product_id_in_the_path_is_404(as_customer, catalog, method):
    response = getattr(as_customer, method)(item_url("not-a-uuid"), {"quantity": 1}, format="json")

    assert_problem(response, 404, "not-found")


def test_a_body_that_is_not_json_is_415(as_customer, catalog):
    response = as_customer.put(item_url(uuid.uuid4()), "quantity=1", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"items": []}, id="empty"),
        pytest.param({"items": [{"product_id": "nope", "quantity": 1}]}, id="bad-id"),
        pytest.param({"items": [{"product_id": str(uuid.UUID(int=1)), "quantity": 0}]}, id="zero"),
        pytest.param({"items": [{"product_id": str(uuid.UUID(int=1)), "quantity": 1}] * 2}, id="twice"),
        pytest.param({"items": [], "extra": 1}, id="unknown-field"),
    ],
)
def test_a_bad_merge_is_400(as_customer, catalog, body):
    assert_problem(as_customer.post(f"{CART}/merge", body, format="json"), 400, "validation-error")
    assert catalog.requests == []


@pytest.mark.parametrize(
    ("body", "key", "code"),
    [
        pytest.param({}, "k", "validation-error", id="no-payment-method"),
        pytest.param({"payment_method": "visa"}, "k", "validation-error", id="not-a-token"),
        pytest.param({"payment_method": "pm_card_visa", "items": []}, "k", "validation-error", id="items"),
        pytest.param({"payment_method": "pm_card_visa"}, None, "validation-error", id="no-key"),
        pytest.param(
            {"payment_method": "pm_card_visa", "card": {"number": "4242424242424242"}},
            "k",
            "card-data-refused",
            id="card-data",
        ),
    ],
)
def test_a_bad_checkout_is_400_and_keeps_the_cart(as_customer, catalog, body, key, code):
    put(as_customer, catalog.add("MUG-1"), 1)

    assert_problem(checkout(as_customer, body, key=key), 400, code)
    assert (Order.objects.count(), CartLine.objects.count()) == (0, 1)
