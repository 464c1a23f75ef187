"""Catalog and inventory across real processes: stock levels reach the catalog, orders reserve through Kafka."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from confluent_kafka import Producer

from shared.testing import wait_until
from tests.shop import product, stock

pytestmark = pytest.mark.e2e


def test_the_catalog_shows_what_inventory_holds_for_every_product(stack, staff):
    def mismatches() -> list[str]:
        levels = httpx.get(stack.url("gateway", "/api/v1/inventory?page_size=100"), headers=staff, timeout=10)
        listing = httpx.get(stack.url("gateway", "/api/v1/products?page_size=100"), headers=staff, timeout=10)
        available = {level["product_id"]: level["available"] for level in levels.json()["results"]}
        return [item["sku"] for item in listing.json()["results"] if item["available"] != available[item["id"]]]

    assert wait_until(lambda: not mismatches() and "in sync", timeout=60, interval=0.3, what="the projection")
    in_stock = httpx.get(stack.url("gateway", "/api/v1/products?in_stock=true&page_size=100"), timeout=10).json()
    assert in_stock["count"] > 0
    assert all(item["available"] > 0 for item in in_stock["results"])


def test_available_follows_a_stock_adjustment_through_kafka(stack, staff):
    listing = httpx.get(stack.url("gateway", "/api/v1/products?ordering=name&page_size=1"), timeout=10).json()
    product_id = listing["results"][0]["id"]
    adjusted = httpx.post(
        stack.url("gateway", f"/api/v1/inventory/{product_id}/adjustments"),
        json={"delta": 7, "reason": "e2e restock"},
        headers=staff,
        timeout=10,
    )
    assert adjusted.status_code == 201, adjusted.text
    expected = adjusted.json()["available"]
    wait_until(
        lambda: product(stack, product_id)["available"] == expected,
        timeout=30,
        interval=0.1,
        what="the catalog to show the new stock level",
    )


def order_placed(order_id: str, item: dict, quantity: int) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": "order.placed",
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "source": "e2e-test",
        "key": order_id,
        "request_id": f"e2e-{order_id[:8]}",
        "payload": {
            "order_id": order_id,
            "customer_id": str(uuid.uuid4()),
            "lines": [
                {"product_id": item["id"], "sku": item["sku"], "quantity": quantity, "unit_price": item["price"]}
            ],
            "total": str(Decimal(item["price"]) * quantity),
            "currency": item["currency"],
            "payment_method": "pm_card_visa",
        },
    }


def test_an_order_placed_event_reserves_stock_once_and_the_catalog_follows(stack, staff):
    listing = httpx.get(stack.url("gateway", "/api/v1/products?ordering=-price&page_size=1"), timeout=10).json()
    item = listing["results"][0]
    adjusted = httpx.post(
        stack.url("gateway", f"/api/v1/inventory/{item['id']}/adjustments"),
        json={"delta": 10, "reason": "e2e: enough for this test"},
        headers=staff,
        timeout=10,
    )
    assert adjusted.status_code == 201, adjusted.text
    before = stock(stack, staff, item["id"])
    order_id = str(uuid.uuid4())
    placed = order_placed(order_id, item, 2)
    sentinel = order_placed(str(uuid.uuid4()), item, 1)
    producer = Producer({"bootstrap.servers": stack.bootstrap})
    # The same event delivered twice, then another order on the same key (so the same partition, after them).
    for envelope in (placed, placed, sentinel):
        producer.produce(f"{stack.topic_prefix}orders", key=order_id.encode(), value=json.dumps(envelope).encode())
    assert producer.flush(10) == 0

    wait_until(
        lambda: stock(stack, staff, item["id"])["reserved"] == before["reserved"] + 3,
        timeout=30,
        interval=0.1,
        what="both reservations",
    )
    wait_until(
        lambda: product(stack, item["id"])["available"] == before["available"] - 3,
        timeout=30,
        interval=0.1,
        what="the catalog to follow",
    )
    movements = httpx.get(
        stack.url("gateway", f"/api/v1/inventory/{item['id']}/movements"), headers=staff, timeout=10
    ).json()["results"]
    assert [movement["order_id"] for movement in movements].count(order_id) == 1
