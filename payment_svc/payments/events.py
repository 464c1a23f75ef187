"""Handlers of the events payment consumes. Imported at startup (``PaymentsConfig.ready``) to register them.

Each runs inside the transaction that records the event in the inbox, and calls one service; the
provider calls they ask for are made after that transaction commits (:mod:`payments.services`).
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from payments.services import (
    payment_note_order,
    payment_note_order_cancelled,
    payment_note_order_rejected,
    payment_note_stock_reserved,
    payment_request_capture,
    payment_request_refund,
)
from shared.events import Envelope, handles


@handles("order.placed")
def on_order_placed(envelope: Envelope) -> None:
    payload = envelope.payload
    payment_note_order(
        order_id=UUID(payload["order_id"]),
        customer_id=UUID(payload["customer_id"]),
        amount=Decimal(payload["total"]),
        currency=payload["currency"],
        payment_method=payload.get("payment_method", ""),
    )


@handles("inventory.reserved")
def on_inventory_reserved(envelope: Envelope) -> None:
    payment_note_stock_reserved(order_id=UUID(envelope.payload["order_id"]))


@handles("order.rejected")
def on_order_rejected(envelope: Envelope) -> None:
    payment_note_order_rejected(order_id=UUID(envelope.payload["order_id"]))


@handles("order.cancelled")
def on_order_cancelled(envelope: Envelope) -> None:
    payment_note_order_cancelled(order_id=UUID(envelope.payload["order_id"]))


@handles("order.shipped")
def on_order_shipped(envelope: Envelope) -> None:
    payment_request_capture(order_id=UUID(envelope.payload["order_id"]))


@handles("order.refund_requested")
def on_order_refund_requested(envelope: Envelope) -> None:
    payment_request_refund(order_id=UUID(envelope.payload["order_id"]))
