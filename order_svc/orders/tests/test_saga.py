"""The order side of the saga with inventory: a reservation keeps the order pending (the payment confirms it,
see test_payment_saga), a shortage rejects it, once."""

import uuid

import pytest

from orders.models import Order, OrderStatus, StatusHistory
from orders.tests.factories import make_order
from orders.tests.support import deliver
from shared.consumer import Outcome, apply_event
from shared.events import Envelope
from shared.testing.outbox import published

pytestmark = pytest.mark.django_db


def reserved(order):
    lines = [{"product_id": str(line.product_id), "quantity": line.quantity} for line in order.lines.all()]
    return deliver("inventory.reserved", str(order.id), {"order_id": str(order.id), "lines": lines})


def reservation_failed(order, *short_lines):
    payload = {"order_id": str(order.id), "short_lines": list(short_lines)}
    return deliver("inventory.reservation_failed", str(order.id), payload)


def short(order, sku, wanted, available):
    line = order.lines.get(sku=sku)
    return {"product_id": str(line.product_id), "wanted": wanted, "available": available}


def status_of(order):
    return Order.objects.get(pk=order.pk).status


def test_reserved_keeps_a_pending_order_pending_waiting_for_its_payment():
    order = make_order()

    assert reserved(order) is Outcome.APPLIED

    order.refresh_from_db()
    assert (order.status, order.payment_status) == (OrderStatus.PENDING, "pending")
    assert order.stock_reserved_at is not None
    assert StatusHistory.objects.filter(order=order).count() == 1
    assert published() == []


def test_a_second_reservation_keeps_the_time_of_the_first():
    order = make_order()
    reserved(order)
    first = Order.objects.get(pk=order.pk).stock_reserved_at

    reserved(order)

    assert Order.objects.get(pk=order.pk).stock_reserved_at == first


def test_reservation_failure_rejects_with_a_reason_naming_the_short_product():
    order = make_order(lines=[("SKU-1", "5.00", 3), ("SKU-2", "1.00", 1)])

    reservation_failed(order, short(order, "SKU-1", 3, 1))

    order.refresh_from_db()
    assert (order.status, order.rejection_reason) == ("rejected", "Not enough stock for SKU-1 (wanted 3, available 1)")


def test_the_rejection_reason_names_every_short_product():
    order = make_order(lines=[("SKU-1", "5.00", 3), ("SKU-2", "1.00", 2)])

    reservation_failed(order, short(order, "SKU-1", 3, 1), short(order, "SKU-2", 2, 0))

    assert Order.objects.get(pk=order.pk).rejection_reason == (
        "Not enough stock for SKU-1 (wanted 3, available 1), SKU-2 (wanted 2, available 0)"
    )


def test_rejection_publishes_status_changed_and_rejected_with_the_reason():
    order = make_order(lines=[("SKU-1", "5.00", 3)])

    reservation_failed(order, short(order, "SKU-1", 3, 0))

    reason = "Not enough stock for SKU-1 (wanted 3, available 0)"
    assert published() == [
        (
            "order.status_changed",
            {
                "order_id": str(order.id),
                "from_status": "pending",
                "to_status": "rejected",
                "by": None,
                "reason": reason,
            },
        ),
        ("order.rejected", {"order_id": str(order.id), "customer_id": str(order.customer_id), "reason": reason}),
    ]


def test_the_rejected_order_shows_its_reason_in_the_api(as_customer, customer_id):
    order = make_order(customer_id=customer_id, lines=[("SKU-1", "5.00", 3)])
    reservation_failed(order, short(order, "SKU-1", 3, 1))

    body = as_customer.get(f"/api/v1/orders/{order.id}").json()

    assert (body["status"], body["rejection_reason"]) == (
        "rejected",
        "Not enough stock for SKU-1 (wanted 3, available 1)",
    )


def test_a_reservation_of_a_confirmed_order_changes_nothing():
    order = make_order(status=OrderStatus.CONFIRMED)

    assert reserved(order) is Outcome.APPLIED  # another event id saying the same

    assert status_of(order) == OrderStatus.CONFIRMED
    assert StatusHistory.objects.filter(order=order).count() == 1
    assert published() == []


def test_a_second_failure_of_a_rejected_order_changes_nothing():
    order = make_order(lines=[("SKU-1", "5.00", 3)])
    reservation_failed(order, short(order, "SKU-1", 3, 1))
    before = published()

    reservation_failed(order, short(order, "SKU-1", 3, 2))

    order.refresh_from_db()
    assert order.rejection_reason == "Not enough stock for SKU-1 (wanted 3, available 1)"
    assert published() == before


def test_a_redelivered_event_is_recognised_and_not_applied_again():
    order = make_order()
    payload = {"order_id": str(order.id), "lines": [{"product_id": str(uuid.uuid4()), "quantity": 1}]}
    envelope = Envelope(type="inventory.reserved", key=str(order.id), payload=payload)
    apply_event(envelope, topic="inventory", partition=0, offset=1)

    stock_reserved_at = Order.objects.get(pk=order.pk).stock_reserved_at

    assert apply_event(envelope, topic="inventory", partition=0, offset=1) is Outcome.DUPLICATE
    assert Order.objects.get(pk=order.pk).stock_reserved_at == stock_reserved_at


def test_a_reservation_arriving_after_cancellation_asks_inventory_to_release_it():
    order = make_order(status=OrderStatus.CANCELLED)

    reserved(order)

    assert status_of(order) == OrderStatus.CANCELLED
    assert published() == [
        (
            "order.cancelled",
            {
                "order_id": str(order.id),
                "customer_id": str(order.customer_id),
                "reason": "Stock was reserved after the order was cancelled.",
            },
        )
    ]


def test_a_failure_arriving_after_cancellation_changes_nothing():
    order = make_order(status=OrderStatus.CANCELLED, lines=[("SKU-1", "5.00", 3)])

    reservation_failed(order, short(order, "SKU-1", 3, 0))

    order.refresh_from_db()
    assert (order.status, order.rejection_reason) == ("cancelled", "")
    assert published() == []


@pytest.mark.parametrize("event_type", ["inventory.reserved", "inventory.reservation_failed"])
def test_an_event_for_an_unknown_order_is_a_harmless_no_op(event_type):
    order_id = str(uuid.uuid4())
    line = {"product_id": str(uuid.uuid4()), "quantity": 1}
    payload = (
        {"order_id": order_id, "lines": [line]}
        if event_type == "inventory.reserved"
        else {"order_id": order_id, "short_lines": [{"product_id": line["product_id"], "wanted": 1, "available": 0}]}
    )

    assert deliver(event_type, order_id, payload) is Outcome.APPLIED

    assert published() == []
