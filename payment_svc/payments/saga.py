"""What payment adds to an order's saga story (:mod:`shared.saga`): the payment and its history.
Imported at startup (``PaymentsConfig.ready``) to register it."""

from __future__ import annotations

import uuid
from typing import Any

from payments.selectors import payment_get_for_order
from shared.money import money
from shared.saga import moment, story_part


@story_part("payment")
def payment_part(*, order_id: uuid.UUID) -> dict[str, Any] | None:
    payment = payment_get_for_order(order_id=order_id)
    if payment is None:
        return None
    return {
        "status": payment.status,
        "amount": money(payment.amount) if payment.amount is not None else None,
        "currency": payment.currency,
        "provider": payment.provider,
        "failure_reason": payment.failure_reason,
        "attempts": payment.attempts,
        "pending_step": payment.pending_step,
        "history": [{"status": row.status, "note": row.note, "at": moment(row.at)} for row in payment.history.all()],
    }
