"""The order side of the saga with payment: an authorization confirms, a failure rejects, a refund refunds,
and every payment event keeps the order's payment_status; each once, and late ones are compensated."""

import uuid

import pytest

from orders.models import Order, OrderStatus, StatusHistory
from orders.tests.factories import make_order
from orders.tests.support import deliver
from shared.consumer import Outcome
from shared.testing.outbox import published

pytestmark = pytest.mark.django_db


def authorized(order):
    payload = {"order_id": str(order.id), "amount": "10.00", "currency": "USD", "provider": "sandbox"}
    return deliver("payment.authorized", str(order.id), payload)


def failed(order, reason="card_declined"):
    return deliver("payment.failed", str(order.id), {"order_id": str(order.id), "reason": reason})


def captured(order):
    return deliver("payment.captured", str(order.id), {"order_id": str(order.id), "amount": "10.00", "currency": "USD"})


def voided(order):
    return deliver("payment.voided", str(order.id), {"order_id": str(order.id)})


def refunded(order):
    return deliver("payment.refunded", str(order.id), {"order_id": str(order.id), "amount": "10.00", "currency": "USD"})


def state_of(order):
    order = Order.objects.get(pk=order.pk)
    return order.status, order.payment_status


def status_changed(order, *, from_status, to_status, reason):
    payload = {"order_id": str(order.id), "from_status": from_status, "to_status": to_status}
    return ("order.status_changed", payload | {"by": None, "reason": reason})


def test_authorization_confirms_a_pending_order_as_the_system():
    order = make_order()

    assert authorized(order) is Outcome.APPLIED

    assert state_of(order) == ("confirmed", "authorized")
    assert list(StatusHistory.objects.filter(order=order).values_list("status", "by", "reason")) == [
        ("pending", order.customer_id, "Placed."),
        ("confirmed", None, "Payment authorized."),
    ]
    assert published() == [
        status_changed(order, from_status="pending", to_status="confirmed", reason="Payment authorized."),
        ("order.confirmed", {"order_id": str(order.id), "customer_id": str(order.customer_id)}),
    ]


def test_a_second_authorization_changes_nothing():
    order = make_order()
    authorized(order)
    before = published()

    authorized(order)  # another event id saying the same

    assert state_of(order) == ("confirmed", "authorized")
    assert StatusHistory.objects.filter(order=order).count() == 2
    assert published() == before


def test_a_failed_payment_rejects_with_the_reason_and_publishes_order_rejected():
    order = make_order()

    failed(order, "insufficient_funds")

    reason = "payment declined: insufficient_funds"
    assert state_of(order) == ("rejected", "failed")
    assert Order.objects.get(pk=order.pk).rejection_reason == reason
    assert published() == [
        status_changed(order, from_status="pending", to_status="rejected", reason=reason),
        ("order.rejected", {"order_id": str(order.id), "customer_id": str(order.customer_id), "reason": reason}),
    ]


def test_the_declined_order_shows_why_in_the_api(as_customer, customer_id):
    order = make_order(customer_id=customer_id)
    failed(order, "card_declined")

    body = as_customer.get(f"/api/v1/orders/{order.id}").json()

    assert (body["status"], body["rejection_reason"], body["payment_status"]) == (
        "rejected",
        "payment declined: card_declined",
        "failed",
    )


def test_a_failure_for_an_order_no_longer_pending_keeps_its_status():
    order = make_order(status=OrderStatus.CANCELLED)

    failed(order)

    assert state_of(order) == ("cancelled", "failed")
    assert Order.objects.get(pk=order.pk).rejection_reason == ""
    assert published() == []


def test_an_authorization_after_cancellation_asks_again_to_cancel_so_payment_voids():
    order = make_order(status=OrderStatus.CANCELLED)

    authorized(order)

    assert state_of(order) == ("cancelled", "authorized")
    assert published() == [
        (
            "order.cancelled",
            {
                "order_id": str(order.id),
                "customer_id": str(order.customer_id),
                "reason": "The payment was authorized after the order was cancelled.",
            },
        )
    ]


def test_an_authorization_after_expiry_publishes_the_rejection_again():
    order = make_order()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.REJECTED, rejection_reason="timed out")

    authorized(order)

    assert state_of(order) == ("rejected", "authorized")
    assert published() == [
        ("order.rejected", {"order_id": str(order.id), "customer_id": str(order.customer_id), "reason": "timed out"})
    ]


def test_capture_and_void_only_move_the_payment_status():
    shipped, cancelled = make_order(status=OrderStatus.SHIPPED), make_order(status=OrderStatus.CANCELLED)

    captured(shipped)
    voided(cancelled)

    assert (state_of(shipped), state_of(cancelled)) == (("shipped", "captured"), ("cancelled", "voided"))
    assert published() == []


def test_a_refund_makes_a_delivered_order_refunded():
    order = make_order(status=OrderStatus.DELIVERED)

    refunded(order)

    assert state_of(order) == ("refunded", "refunded")
    assert published() == [
        status_changed(order, from_status="delivered", to_status="refunded", reason="Payment refunded."),
    ]
    refunded(order)  # again: nothing more
    assert len(published()) == 1


def test_a_refund_of_an_order_not_delivered_only_moves_the_payment_status():
    order = make_order(status=OrderStatus.SHIPPED)

    refunded(order)

    assert state_of(order) == ("shipped", "refunded")
    assert published() == []


@pytest.mark.parametrize("deliver_event", [authorized, failed, captured, voided, refunded])
def test_a_payment_event_for_an_unknown_order_is_a_harmless_no_op(deliver_event):
    class Unknown:
        id = uuid.uuid4()

    assert deliver_event(Unknown) is Outcome.APPLIED

    assert published() == []


REFUND = "/api/v1/orders/{}/refund"


def test_staff_refund_a_delivered_order_202_publishing_refund_requested(as_staff):
    order = make_order(status=OrderStatus.DELIVERED)

    response = as_staff.post(REFUND.format(order.id))

    assert response.status_code == 202, response.content
    assert (response.json()["id"], response.json()["status"]) == (str(order.id), "delivered")
    assert published() == [("order.refund_requested", {"order_id": str(order.id)})]
    assert state_of(order) == ("delivered", "pending")  # refunded when payment.refunded arrives


@pytest.mark.parametrize("status", ["pending", "confirmed", "shipped", "rejected", "cancelled", "refunded"])
def test_refunding_an_order_not_delivered_is_409_and_publishes_nothing(as_staff, status):
    order = make_order(status=status)

    response = as_staff.post(REFUND.format(order.id))

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"].startswith(f"An order that is {status} cannot become refunded")
    assert published() == []


def test_a_customer_may_not_refund_even_their_own_order(as_customer, customer_id):
    order = make_order(customer_id=customer_id, status=OrderStatus.DELIVERED)

    response = as_customer.post(REFUND.format(order.id))

    assert response.status_code == 403
    assert published() == []


@pytest.mark.parametrize("order_id", ["nope", str(uuid.uuid4())])
def test_refunding_a_missing_order_is_404(as_staff, order_id):
    response = as_staff.post(REFUND.format(order_id))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
