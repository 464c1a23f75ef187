"""/api/v1/inventory: staff's stock list, levels, adjustments and ledger (API.md, "Inventory")."""

import uuid
from datetime import UTC, datetime

import pytest

from inventory.models import Movement, StockItem
from inventory.services import StockLine, stock_adjust, stock_reserve, stock_ship
from inventory.tests.factories import StockItemFactory
from shared.errors import PROBLEM_CONTENT_TYPE
from shared.testing.outbox import payloads

pytestmark = pytest.mark.django_db


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def level(stock: StockItem) -> dict:
    stock.refresh_from_db()
    return {
        "product_id": str(stock.product_id),
        "sku": stock.sku,
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "available": stock.available,
        "low_stock_threshold": stock.low_stock_threshold,
        "updated_at": iso(stock.updated_at),
    }


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "request_id"} <= set(body)
    return body


ROUTES = [
    ("get", "/api/v1/inventory"),
    ("get", "/api/v1/inventory/{id}"),
    ("post", "/api/v1/inventory/{id}/adjustments"),
    ("get", "/api/v1/inventory/{id}/movements"),
]


# Who may call


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_a_token(anonymous, method, path):
    stock = StockItemFactory()

    response = getattr(anonymous, method)(path.format(id=stock.product_id), {"delta": 1, "reason": "x"}, format="json")

    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_is_staff_only(as_customer, method, path):
    stock = StockItemFactory(on_hand=1)

    response = getattr(as_customer, method)(
        path.format(id=stock.product_id), {"delta": 1, "reason": "x"}, format="json"
    )

    assert_problem(response, 403)
    assert StockItem.objects.get().on_hand == 1
    assert Movement.objects.count() == 0


# GET /api/v1/inventory


def test_the_list_shows_every_stock_row_by_sku_paginated(as_staff):
    second = StockItemFactory(sku="B-2", on_hand=3, reserved=1)
    first = StockItemFactory(sku="A-1")

    response = as_staff.get("/api/v1/inventory")

    assert response.status_code == 200
    assert response.json() == {"count": 2, "next": None, "previous": None, "results": [level(first), level(second)]}


def test_the_list_pages_by_page_size(as_staff):
    for number in range(3):
        StockItemFactory(sku=f"SKU-{number}")

    response = as_staff.get("/api/v1/inventory", {"page_size": 2, "page": 2})

    body = response.json()
    assert (body["count"], [row["sku"] for row in body["results"]]) == (3, ["SKU-2"])
    assert body["next"] is None and body["previous"] is not None


def test_low_stock_true_lists_rows_whose_available_is_at_or_below_their_threshold(as_staff):
    StockItemFactory(sku="AT", on_hand=7, reserved=2, low_stock_threshold=5)
    StockItemFactory(sku="BELOW", on_hand=0, low_stock_threshold=1)
    StockItemFactory(sku="ABOVE", on_hand=8, reserved=2, low_stock_threshold=5)

    response = as_staff.get("/api/v1/inventory", {"low_stock": "true"})

    assert response.status_code == 200
    assert [row["sku"] for row in response.json()["results"]] == ["AT", "BELOW"]


def test_low_stock_false_lists_every_row(as_staff):
    StockItemFactory(on_hand=0)
    StockItemFactory(on_hand=100)

    assert as_staff.get("/api/v1/inventory", {"low_stock": "false"}).json()["count"] == 2


@pytest.mark.parametrize("value", ["yes", "1", "TRUE", ""])
def test_any_other_low_stock_value_is_400(as_staff, value):
    response = as_staff.get("/api/v1/inventory", {"low_stock": value})

    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["low_stock"]


# GET /api/v1/inventory/{product_id}


def test_a_products_levels(as_staff):
    stock = StockItemFactory(sku="KITE", on_hand=9, reserved=4, low_stock_threshold=3)

    response = as_staff.get(f"/api/v1/inventory/{stock.product_id}")

    assert response.status_code == 200
    assert response.json() == {
        "product_id": str(stock.product_id),
        "sku": "KITE",
        "on_hand": 9,
        "reserved": 4,
        "available": 5,
        "low_stock_threshold": 3,
        "updated_at": iso(stock.updated_at),
    }


@pytest.mark.parametrize("product_id", [str(uuid.uuid4()), "not-a-uuid", "12345"])
def test_an_unknown_or_malformed_product_id_is_404(as_staff, product_id):
    StockItemFactory()

    assert_problem(as_staff.get(f"/api/v1/inventory/{product_id}"), 404)


# POST /api/v1/inventory/{product_id}/adjustments


def test_an_adjustment_is_201_with_the_new_levels(as_staff, staff_id):
    stock = StockItemFactory(sku="KITE", on_hand=2, reserved=1)

    response = as_staff.post(
        f"/api/v1/inventory/{stock.product_id}/adjustments", {"delta": 5, "reason": "delivery"}, format="json"
    )

    assert response.status_code == 201
    assert response.json() == level(stock)
    assert (response.json()["on_hand"], response.json()["available"]) == (7, 6)
    movement = Movement.objects.get()
    assert (movement.kind, movement.on_hand_delta, movement.reason, movement.actor) == (
        "adjustment",
        5,
        "delivery",
        staff_id,
    )
    assert [event["on_hand"] for event in payloads("inventory.changed")] == [7]


def test_removing_below_reserved_is_409_and_writes_no_movement(as_staff):
    stock = StockItemFactory(on_hand=5, reserved=3)

    response = as_staff.post(
        f"/api/v1/inventory/{stock.product_id}/adjustments", {"delta": -3, "reason": "count"}, format="json"
    )

    body = assert_problem(response, 409)
    assert body["type"].endswith("/stock-below-reserved")
    assert "at most 2 can be removed" in body["detail"]
    assert (StockItem.objects.get().on_hand, Movement.objects.count(), payloads("inventory.changed")) == (5, 0, [])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delta": 0, "reason": "count"}, "delta"),
        ({"delta": 1.5, "reason": "count"}, "delta"),
        ({"delta": "many", "reason": "count"}, "delta"),
        ({"delta": 2_000_000, "reason": "count"}, "delta"),
        ({"reason": "count"}, "delta"),
        ({"delta": 1}, "reason"),
        ({"delta": 1, "reason": "   "}, "reason"),
        ({"delta": 1, "reason": "x" * 501}, "reason"),
        ({"delta": 1, "reason": "count", "actor": str(uuid.uuid4())}, "actor"),
        ({"delta": 1, "reason": "count", "on_hand": 50}, "on_hand"),
    ],
)
def test_an_invalid_adjustment_is_400_naming_the_field(as_staff, body, field):
    stock = StockItemFactory(on_hand=1)

    response = as_staff.post(f"/api/v1/inventory/{stock.product_id}/adjustments", body, format="json")

    problem = assert_problem(response, 400)
    assert list(problem["errors"]) == [field]
    assert (StockItem.objects.get().on_hand, Movement.objects.count()) == (1, 0)


def test_a_body_that_is_not_an_object_is_400(as_staff):
    stock = StockItemFactory()

    response = as_staff.post(f"/api/v1/inventory/{stock.product_id}/adjustments", [1, 2], format="json")

    assert_problem(response, 400)


@pytest.mark.parametrize("product_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_adjusting_an_unknown_product_is_404(as_staff, product_id):
    response = as_staff.post(
        f"/api/v1/inventory/{product_id}/adjustments", {"delta": 1, "reason": "delivery"}, format="json"
    )

    assert_problem(response, 404)
    assert Movement.objects.count() == 0


# GET /api/v1/inventory/{product_id}/movements


def test_the_ledger_lists_a_products_movements_newest_first(as_staff, staff_id):
    stock = StockItemFactory()
    other = StockItemFactory(on_hand=5)
    order_id = uuid.uuid4()
    stock_adjust(product_id=stock.product_id, delta=10, reason="delivery", actor=staff_id)
    stock_reserve(order_id=order_id, lines=[StockLine(product_id=stock.product_id, quantity=4)])
    stock_adjust(product_id=other.product_id, delta=1, reason="elsewhere", actor=None)
    adjustment, reservation = Movement.objects.filter(stock_item=stock).order_by("id")

    response = as_staff.get(f"/api/v1/inventory/{stock.product_id}/movements")

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {
                "kind": "reservation",
                "on_hand_delta": 0,
                "reserved_delta": 4,
                "reason": "order placed",
                "actor": None,
                "order_id": str(order_id),
                "created_at": iso(reservation.created_at),
            },
            {
                "kind": "adjustment",
                "on_hand_delta": 10,
                "reserved_delta": 0,
                "reason": "delivery",
                "actor": str(staff_id),
                "order_id": None,
                "created_at": iso(adjustment.created_at),
            },
        ],
    }


def test_the_ledger_shows_a_shipment_taking_units_off_on_hand_and_reserved(as_staff):
    stock = StockItemFactory(on_hand=10)
    order_id = uuid.uuid4()
    stock_reserve(order_id=order_id, lines=[StockLine(product_id=stock.product_id, quantity=3)])
    stock_ship(order_id=order_id)

    response = as_staff.get(f"/api/v1/inventory/{stock.product_id}/movements")

    latest = response.json()["results"][0]
    assert {key: latest[key] for key in ("kind", "on_hand_delta", "reserved_delta", "reason", "order_id")} == {
        "kind": "shipment",
        "on_hand_delta": -3,
        "reserved_delta": -3,
        "reason": "order shipped",
        "order_id": str(order_id),
    }


def test_the_ledger_is_paginated(as_staff):
    stock = StockItemFactory()
    for delta in range(1, 4):
        stock_adjust(product_id=stock.product_id, delta=delta, reason=f"delivery {delta}", actor=None)

    response = as_staff.get(f"/api/v1/inventory/{stock.product_id}/movements", {"page_size": 2})

    body = response.json()
    assert body["count"] == 3
    assert [row["reason"] for row in body["results"]] == ["delivery 3", "delivery 2"]
    assert body["next"] is not None


@pytest.mark.parametrize("product_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_the_ledger_of_an_unknown_product_is_404(as_staff, product_id):
    assert_problem(as_staff.get(f"/api/v1/inventory/{product_id}/movements"), 404)
