"""Payment in the whole saga, through the gateway on real processes: authorize after the stock is
reserved, capture on shipment, refund a delivered order, void on cancel; declines and a provider that
never answers reject the order and release its stock."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from shared.testing import wait_until
from tests.shop import customer, new_product, order, place, set_status, settled, stock

pytestmark = pytest.mark.e2e


def placed(stack, buyer: dict[str, str], item: dict, payment_method: str, quantity: int = 2) -> str:
    answer = place(stack, buyer, [{"product_id": item["id"], "quantity": quantity}], payment_method=payment_method)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def payment(stack, staff: dict[str, str], order_id: str) -> dict:
    answer = httpx.get(stack.url("gateway", f"/api/v1/payments/{order_id}"), headers=staff, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def payment_status_becomes(stack, buyer: dict[str, str], order_id: str, status: str) -> dict:
    return wait_until(
        lambda: (found := order(stack, buyer, order_id))["payment_status"] == status and found,
        timeout=30,
        interval=0.1,
        what=f"order {order_id}'s payment_status to become {status}",
    )


def sandbox_calls(stack, order_id: str, operation: str) -> int:
    """Calls of ``operation`` for the order that the sandbox provider answered with success (its own ledger,
    one row per idempotency key ``<order id>:<step>``; a decline or a timeout leaves the answer empty)."""
    with psycopg.connect(stack.database_url("payment")) as conn:
        row = conn.execute(
            "SELECT count(*) FROM payments_sandboxcharge WHERE idempotency_key = %s AND status <> ''",
            [f"{order_id}:{operation}"],
        ).fetchone()
    assert row is not None
    return int(row[0])


def available(stack, staff: dict[str, str], item: dict) -> int:
    return int(stock(stack, staff, item["id"])["available"])


def test_paid_order_is_confirmed_captured_when_shipped_and_refunded_after_delivery(stack, staff):
    buyer, item = customer(stack), new_product(stack, staff, available=10, price="12.50")
    order_id = placed(stack, buyer, item, "pm_card_visa")

    assert settled(stack, buyer, order_id)["status"] == "confirmed"
    payment_status_becomes(stack, buyer, order_id, "authorized")
    authorized = payment(stack, staff, order_id)
    assert (authorized["status"], authorized["amount"], authorized["provider"]) == ("authorized", "25.00", "sandbox")

    set_status(stack, staff, order_id, "shipped")
    payment_status_becomes(stack, buyer, order_id, "captured")
    set_status(stack, staff, order_id, "delivered")
    refund = httpx.post(stack.url("gateway", f"/api/v1/orders/{order_id}/refund"), headers=staff, timeout=10)
    assert refund.status_code == 202, refund.text

    refunded = payment_status_becomes(stack, buyer, order_id, "refunded")
    assert refunded["status"] == "refunded"
    assert [entry["status"] for entry in payment(stack, staff, order_id)["history"]] == [
        "requires_authorization",
        "authorized",
        "captured",
        "refunded",
    ]
    assert stock(stack, staff, item["id"])["on_hand"] == 8  # a refund gives money back, not stock
    assert [sandbox_calls(stack, order_id, step) for step in ("authorize", "capture", "refund")] == [1, 1, 1]


@pytest.mark.parametrize(
    ("payment_method", "reason"),
    [("pm_card_chargeDeclined", "card_declined"), ("pm_card_timeout", "provider unavailable")],
    ids=["declined", "provider_times_out"],
)
def test_an_unpaid_order_is_rejected_with_the_reason_its_stock_released_and_nothing_charged(
    stack, staff, payment_method, reason
):
    buyer, item = customer(stack), new_product(stack, staff, available=10)
    order_id = placed(stack, buyer, item, payment_method)

    rejected = settled(stack, buyer, order_id, timeout=60)

    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", f"payment declined: {reason}")
    wait_until(lambda: available(stack, staff, item) == 10, timeout=30, what="the reserved stock released")
    assert payment(stack, staff, order_id)["failure_reason"] == reason
    assert sandbox_calls(stack, order_id, "authorize") == 0


def test_a_flaky_provider_is_retried_and_authorizes_exactly_once(stack, staff):
    buyer, item = customer(stack), new_product(stack, staff, available=10)
    order_id = placed(stack, buyer, item, "pm_card_flaky")

    assert settled(stack, buyer, order_id)["status"] == "confirmed"
    assert payment(stack, staff, order_id)["attempts"] >= 2
    assert sandbox_calls(stack, order_id, "authorize") == 1


def test_cancelling_a_confirmed_order_voids_its_authorization_and_releases_its_stock(stack, staff):
    buyer, item = customer(stack), new_product(stack, staff, available=10)
    order_id = placed(stack, buyer, item, "pm_card_visa")
    assert settled(stack, buyer, order_id)["status"] == "confirmed"
    payment_status_becomes(stack, buyer, order_id, "authorized")

    cancelled = httpx.post(stack.url("gateway", f"/api/v1/orders/{order_id}/cancel"), headers=buyer, timeout=10)
    assert cancelled.status_code == 200, cancelled.text

    payment_status_becomes(stack, buyer, order_id, "voided")
    wait_until(lambda: available(stack, staff, item) == 10, timeout=30, what="the reserved stock released")
    assert sandbox_calls(stack, order_id, "capture") == 0
