"""Reads of payments."""

from __future__ import annotations

from uuid import UUID

from payments.models import Payment


def payment_get_for_order(*, order_id: UUID) -> Payment | None:
    """The payment of the order, its history prefetched; None while the payment service has not heard of it."""
    return Payment.objects.prefetch_related("history").filter(order_id=order_id).first()
