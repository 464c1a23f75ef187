"""An order's life to the end on real processes: shipping takes the reserved units off the shelf, once."""

from __future__ import annotations

import pytest

from shared.testing import wait_until
from tests.shop import (
    customer,
    movements,
    place,
    process_metric,
    product,
    products,
    set_available,
    set_status,
    settled,
    stock,
)

pytestmark = pytest.mark.e2e


def levels(stack, staff, product_id: str) -> tuple[int, int, int]:
    found = stock(stack, staff, product_id)
    return found["on_hand"], found["reserved"], found["available"]


def shipments(stack, staff, product_id: str, order_id: str) -> list[tuple[int, int]]:
    """(on_hand_delta, reserved_delta) of the order's shipment movements in the product's ledger."""
    return [
        (movement["on_hand_delta"], movement["reserved_delta"])
        for movement in movements(stack, staff, product_id)
        if movement["kind"] == "shipment" and movement["order_id"] == order_id
    ]


def status_changes_passed_by_inventory(stack) -> float:
    """``order.status_changed`` events the inventory consumer has read past (it has no handler for them)."""
    return process_metric(stack, "inventory-consumer", "shop_events_skipped_total", type="order.status_changed")


def test_shipping_then_delivering_takes_the_ordered_units_off_the_shelf_once(stack, staff):
    buyer = customer(stack)
    (item,) = products(stack, 1, offset=40)
    set_available(stack, staff, item["id"], 10)
    assert levels(stack, staff, item["id"]) == (10, 0, 10)
    placed = place(stack, buyer, [{"product_id": item["id"], "quantity": 3}])
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    assert settled(stack, buyer, order_id)["status"] == "confirmed"
    assert levels(stack, staff, item["id"]) == (10, 3, 7)

    assert set_status(stack, staff, order_id, "shipped")["status"] == "shipped"

    wait_until(
        lambda: levels(stack, staff, item["id"]) == (7, 0, 7),
        timeout=30,
        interval=0.2,
        what="inventory to take the shipped units off the shelf",
    )
    wait_until(
        lambda: product(stack, item["id"])["available"] == 7,
        timeout=30,
        interval=0.2,
        what="the catalog to show 7 available",
    )
    assert shipments(stack, staff, item["id"], order_id) == [(-3, -3)]
    passed_before_delivery = status_changes_passed_by_inventory(stack)

    assert set_status(stack, staff, order_id, "delivered")["status"] == "delivered"

    # The delivery's status_changed is the order's last event on its partition: once inventory read
    # past it, inventory has seen everything the delivery published.
    wait_until(
        lambda: status_changes_passed_by_inventory(stack) > passed_before_delivery,
        timeout=30,
        interval=0.2,
        what="the inventory consumer to read past the delivery",
    )
    assert levels(stack, staff, item["id"]) == (7, 0, 7)
    assert product(stack, item["id"])["available"] == 7
    assert shipments(stack, staff, item["id"], order_id) == [(-3, -3)]
