"""The events payment consumes, as their producers publish them (validated against the registry)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from shared.events import Envelope


def _event(event_type: str, order_id: uuid.UUID, source: str, **payload: object) -> Envelope:
    envelope = Envelope(
        type=event_type, key=str(order_id), source=source, payload={"order_id": str(order_id), **payload}
    )
    envelope.validate()
    return envelope


def order_placed(
    order_id: uuid.UUID,
    *,
    total: Decimal = Decimal("25.00"),
    currency: str = "USD",
    payment_method: str = "pm_card_visa",
) -> Envelope:
    return _event(
        "order.placed",
        order_id,
        "order",
        customer_id=str(uuid.uuid4()),
        lines=[{"product_id": str(uuid.uuid4()), "sku": "KITE", "quantity": 1, "unit_price": str(total)}],
        total=str(total),
        currency=currency,
        payment_method=payment_method,
    )


def inventory_reserved(order_id: uuid.UUID) -> Envelope:
    return _event("inventory.reserved", order_id, "inventory", lines=[{"product_id": str(uuid.uuid4()), "quantity": 1}])


def order_cancelled(order_id: uuid.UUID) -> Envelope:
    return _event("order.cancelled", order_id, "order", customer_id=str(uuid.uuid4()))


def order_rejected(order_id: uuid.UUID, reason: str = "timed out waiting for payment authorization") -> Envelope:
    return _event("order.rejected", order_id, "order", customer_id=str(uuid.uuid4()), reason=reason)


def order_shipped(order_id: uuid.UUID) -> Envelope:
    return _event(
        "order.shipped", order_id, "order", customer_id=str(uuid.uuid4()),
        lines=[{"product_id": str(uuid.uuid4()), "quantity": 1}],
    )  # fmt: skip


def order_refund_requested(order_id: uuid.UUID) -> Envelope:
    return _event("order.refund_requested", order_id, "order")
