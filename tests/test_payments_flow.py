"""The payment service in a real stack: an order's stock reserved through Kafka is authorized with the sandbox.

The events are produced straight into Kafka (as tests/test_stock_flow.py does), so these tests need only
inventory and payment: inventory reserves on ``order.placed`` and answers ``inventory.reserved``, payment
authorizes the total ``order.placed`` carried with its ``payment_method``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import psycopg
import pytest
from confluent_kafka import Producer

from shared.testing import wait_until
from tests.shop import customer

pytestmark = pytest.mark.e2e


def order_placed(order_id: str, item: dict, quantity: int, payment_method: str) -> dict:
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
            "payment_method": payment_method,
        },
    }


@pytest.fixture(scope="module")
def item(stack, staff) -> dict:
    listing = httpx.get(stack.url("gateway", "/api/v1/products?ordering=price&page_size=1"), timeout=10).json()
    product = listing["results"][0]
    adjusted = httpx.post(
        stack.url("gateway", f"/api/v1/inventory/{product['id']}/adjustments"),
        json={"delta": 20, "reason": "e2e: enough for the payment tests"},
        headers=staff,
        timeout=10,
    )
    assert adjusted.status_code == 201, adjusted.text
    return product


def place(stack, item: dict, payment_method: str, quantity: int = 2) -> dict:
    order_id = str(uuid.uuid4())
    placed = order_placed(order_id, item, quantity, payment_method)
    producer = Producer({"bootstrap.servers": stack.bootstrap})
    producer.produce(f"{stack.topic_prefix}orders", key=order_id.encode(), value=json.dumps(placed).encode())
    assert producer.flush(10) == 0
    return placed["payload"]


def payment(stack, staff, order_id: str) -> httpx.Response:
    return httpx.get(stack.url("gateway", f"/api/v1/payments/{order_id}"), headers=staff, timeout=10)


def settled_payment(stack, staff, order_id: str) -> dict:
    def final() -> dict | None:
        answer = payment(stack, staff, order_id)
        body = answer.json() if answer.status_code == 200 else {}
        return body if body.get("status") not in (None, "requires_authorization") else None

    return wait_until(final, timeout=30, interval=0.2, what=f"the payment of order {order_id} to be decided")


def sandbox_authorizations(stack, order_id: str) -> int:
    with psycopg.connect(stack.database_url("payment")) as conn:
        row = conn.execute(
            "SELECT count(*) FROM payments_sandboxcharge WHERE reference = %s AND operation = 'authorize' "
            "AND status = 'authorized'",
            [order_id],
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_reserved_stock_is_authorized_for_the_order_total(stack, staff, item):
    placed = place(stack, item, "pm_card_visa")

    decided = settled_payment(stack, staff, placed["order_id"])

    assert (decided["status"], decided["amount"], decided["currency"]) == (
        "authorized", placed["total"], placed["currency"],
    )  # fmt: skip
    assert (decided["provider"], decided["attempts"], decided["failure_reason"]) == ("sandbox", 1, "")
    assert [entry["status"] for entry in decided["history"]] == ["requires_authorization", "authorized"]
    assert sandbox_authorizations(stack, placed["order_id"]) == 1


def test_a_declined_card_fails_with_its_reason_and_charges_nothing(stack, staff, item):
    placed = place(stack, item, "pm_card_chargeDeclined", quantity=1)

    decided = settled_payment(stack, staff, placed["order_id"])

    assert (decided["status"], decided["failure_reason"]) == ("failed", "card_declined")
    assert sandbox_authorizations(stack, placed["order_id"]) == 0


def test_a_flaky_provider_is_retried_and_charges_once(stack, staff, item):
    placed = place(stack, item, "pm_card_flaky", quantity=1)

    decided = settled_payment(stack, staff, placed["order_id"])

    assert (decided["status"], decided["attempts"]) == ("authorized", 2)
    assert sandbox_authorizations(stack, placed["order_id"]) == 1


def test_customers_may_not_read_payments(stack, staff, item):
    placed = place(stack, item, "pm_card_visa", quantity=1)
    settled_payment(stack, staff, placed["order_id"])

    refused = httpx.get(
        stack.url("gateway", f"/api/v1/payments/{placed['order_id']}"), headers=customer(stack), timeout=10
    )

    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert payment(stack, staff, str(uuid.uuid4())).status_code == 404
