"""What payment tells the consistency check (:mod:`shared.consistency`): each order's payment status.
Imported at startup (``PaymentsConfig.ready``)."""

from __future__ import annotations

from typing import Any

from payments.models import Payment
from shared.consistency import facts_part
from shared.saga import moment


@facts_part("payments")
def payments_facts() -> dict[str, list[Any]]:
    """``{order_id: [status, updated_at, pending_step]}`` for every order payment heard of."""
    rows = Payment.objects.order_by().values_list("order_id", "status", "updated_at", "pending_step")
    return {
        str(order_id): [status, moment(updated_at), pending_step]
        for order_id, status, updated_at, pending_step in rows.iterator()
    }
