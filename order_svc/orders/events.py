"""Handlers of the events the order service consumes. Imported at startup (``OrdersConfig.ready``).

Each runs in the consumer's transaction with the inbox record, so a redelivered event is not
applied twice; the services they call are also safe to run again for a *different* event
saying the same thing. ``inventory.released`` and ``inventory.changed`` are not consumed here:
a release needs nothing from orders, and stock levels are the product service's projection.
"""

from __future__ import annotations

from uuid import UUID

from orders.models import PaymentStatus
from orders.services import (
    ShortLine,
    customer_deactivate,
    customer_record,
    order_apply_payment_authorized,
    order_apply_payment_failure,
    order_apply_payment_progress,
    order_apply_refund,
    order_apply_reservation,
    order_apply_reservation_failure,
)
from shared.events import Envelope, handles


@handles("inventory.reserved")
def on_inventory_reserved(envelope: Envelope) -> None:
    order_apply_reservation(order_id=UUID(envelope.payload["order_id"]))


@handles("inventory.reservation_failed")
def on_inventory_reservation_failed(envelope: Envelope) -> None:
    payload = envelope.payload
    short_lines = [
        ShortLine(product_id=UUID(line["product_id"]), wanted=line["wanted"], available=line["available"])
        for line in payload["short_lines"]
    ]
    order_apply_reservation_failure(order_id=UUID(payload["order_id"]), short_lines=short_lines)


@handles("payment.authorized")
def on_payment_authorized(envelope: Envelope) -> None:
    order_apply_payment_authorized(order_id=UUID(envelope.payload["order_id"]))


@handles("payment.failed")
def on_payment_failed(envelope: Envelope) -> None:
    payload = envelope.payload
    order_apply_payment_failure(order_id=UUID(payload["order_id"]), reason=payload["reason"])


@handles("payment.captured")
def on_payment_captured(envelope: Envelope) -> None:
    order_apply_payment_progress(order_id=UUID(envelope.payload["order_id"]), payment_status=PaymentStatus.CAPTURED)


@handles("payment.voided")
def on_payment_voided(envelope: Envelope) -> None:
    order_apply_payment_progress(order_id=UUID(envelope.payload["order_id"]), payment_status=PaymentStatus.VOIDED)


@handles("payment.refunded")
def on_payment_refunded(envelope: Envelope) -> None:
    order_apply_refund(order_id=UUID(envelope.payload["order_id"]))


@handles("user.registered")
@handles("user.updated")
def on_user_changed(envelope: Envelope) -> None:
    payload = envelope.payload
    customer_record(
        customer_id=UUID(payload["user_id"]),
        email=payload["email"],
        role=payload["role"],
        is_active=payload["is_active"],
    )


@handles("user.deactivated")
def on_user_deactivated(envelope: Envelope) -> None:
    customer_deactivate(customer_id=UUID(envelope.payload["user_id"]))
