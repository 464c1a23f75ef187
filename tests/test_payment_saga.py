"""Payment in the whole saga, through the gateway on real processes: authorize after the stock is
reserved, capture on shipment, refund a delivered order, void on cancel; declines and a provider that
never answers reject the order and release its stock; a payment consumer killed between the provider's
answer and its record charges once.

What the provider did is read from the sandbox's own records (:func:`tests.shop.sandbox_ledger`), not from
the payment service's."""

from __future__ import annotations

import os
import signal
import uuid

import httpx
import pytest

from shared.testing import wait_until
from tests.shop import (
    TableFault,
    customer,
    new_product,
    payment,
    payment_status_becomes,
    place,
    register,
    sandbox_ledger,
    set_status,
    settled,
    sign_in,
    stock,
)

pytestmark = pytest.mark.e2e


def placed(stack, buyer: dict[str, str], item: dict, payment_method: str, quantity: int = 2) -> str:
    answer = place(stack, buyer, [{"product_id": item["id"], "quantity": quantity}], payment_method=payment_method)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def available(stack, staff: dict[str, str], item: dict) -> int:
    return int(stock(stack, staff, item["id"])["available"])


def test_paid_order_is_confirmed_captured_when_shipped_and_refunded_after_delivery(stack, staff):
    buyer, item = customer(stack), new_product(stack, staff, available=10, price="12.50")
    order_id = placed(stack, buyer, item, "pm_card_visa")

    assert settled(stack, buyer, order_id)["status"] == "confirmed"
    payment_status_becomes(stack, buyer, order_id, "authorized")
    authorized = payment(stack, staff, order_id)
    assert (authorized["status"], authorized["amount"], authorized["currency"]) == ("authorized", "25.00", "USD")
    assert (authorized["provider"], authorized["attempts"], authorized["failure_reason"]) == ("sandbox", 1, "")

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
    assert sandbox_ledger(stack, order_id) == [
        ("authorize", "authorized", 1),
        ("capture", "captured", 1),
        ("refund", "refunded", 1),
    ]


@pytest.mark.parametrize(
    ("payment_method", "reason", "calls"),
    [("pm_card_chargeDeclined", "card_declined", 1), ("pm_card_timeout", "provider unavailable", 3)],
    ids=["declined", "provider_times_out"],
)
def test_an_unpaid_order_is_rejected_with_the_reason_its_stock_released_and_nothing_charged(
    stack, staff, payment_method, reason, calls
):
    buyer, item = customer(stack), new_product(stack, staff, available=10)
    order_id = placed(stack, buyer, item, payment_method)

    rejected = settled(stack, buyer, order_id, timeout=60)

    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", f"payment declined: {reason}")
    wait_until(lambda: available(stack, staff, item) == 10, timeout=30, what="the reserved stock released")
    failed = payment(stack, staff, order_id)
    assert (failed["status"], failed["failure_reason"], failed["attempts"]) == ("failed", reason, calls)
    assert sandbox_ledger(stack, order_id) == [("authorize", "", calls)]  # asked, never answered yes


def test_a_flaky_provider_is_retried_and_authorizes_exactly_once(stack, staff):
    buyer, item = customer(stack), new_product(stack, staff, available=10)
    order_id = placed(stack, buyer, item, "pm_card_flaky")

    assert settled(stack, buyer, order_id)["status"] == "confirmed"
    assert payment(stack, staff, order_id)["attempts"] == 2
    assert sandbox_ledger(stack, order_id) == [("authorize", "authorized", 2)]


def test_cancelling_a_confirmed_order_voids_its_authorization_and_releases_its_stock(stack, staff):
    buyer, item = customer(stack), new_product(stack, staff, available=10)
    order_id = placed(stack, buyer, item, "pm_card_visa")
    assert settled(stack, buyer, order_id)["status"] == "confirmed"
    payment_status_becomes(stack, buyer, order_id, "authorized")

    cancelled = httpx.post(stack.url("gateway", f"/api/v1/orders/{order_id}/cancel"), headers=buyer, timeout=10)
    assert cancelled.status_code == 200, cancelled.text

    payment_status_becomes(stack, buyer, order_id, "voided")
    wait_until(lambda: available(stack, staff, item) == 10, timeout=30, what="the reserved stock released")
    assert sandbox_ledger(stack, order_id) == [("authorize", "authorized", 1), ("void", "voided", 1)]


def test_a_payment_consumer_killed_between_the_providers_answer_and_its_record_charges_once(stack, staff, provoked):
    customer_id, email = register(stack)
    buyer, item = sign_in(stack, email), new_product(stack, staff, available=10)
    # The record of this customer's authorization waits 3 s inside the consumer's transaction: the provider
    # has charged, the payment service has not written it down. The kill lands there.
    recording = TableFault(stack, "payment", "payments_payment", event="UPDATE")
    recording.delay_where(
        f"NEW.customer_id = '{uuid.UUID(customer_id)}' AND NEW.status = 'authorized' AND OLD.status <> 'authorized'", 3
    )
    try:
        order_id = placed(stack, buyer, item, "pm_card_visa")
        wait_until(recording.sleeping, timeout=30, interval=0.01, what="the authorization's record in progress")
        provoked.restart("payment-consumer")
        os.kill(stack.pid("payment-consumer"), signal.SIGKILL)  # the supervisor restarts it
    finally:
        recording.lift()
    assert sandbox_ledger(stack, order_id) == [("authorize", "authorized", 1)]  # charged before the kill
    assert payment(stack, staff, order_id)["status"] == "requires_authorization"  # and not recorded

    # The restarted consumer finds the step still pending and asks again with the same idempotency key.
    assert settled(stack, buyer, order_id, timeout=60)["status"] == "confirmed"
    assert payment(stack, staff, order_id)["status"] == "authorized"
    assert sandbox_ledger(stack, order_id) == [("authorize", "authorized", 2)]  # asked twice, charged once


def test_customers_may_not_read_payments_and_an_unknown_order_has_none(stack, staff):
    buyer, item = customer(stack), new_product(stack, staff, available=10)
    order_id = placed(stack, buyer, item, "pm_card_visa", quantity=1)
    payment_status_becomes(stack, buyer, order_id, "authorized")

    refused = httpx.get(stack.url("gateway", f"/api/v1/payments/{order_id}"), headers=buyer, timeout=10)
    unknown = httpx.get(stack.url("gateway", f"/api/v1/payments/{uuid.uuid4()}"), headers=staff, timeout=10)

    assert (refused.status_code, refused.headers["Content-Type"]) == (403, "application/problem+json")
    assert (unknown.status_code, unknown.headers["Content-Type"]) == (404, "application/problem+json")
