"""What the order service adds to an order's saga story (:mod:`shared.saga`): the order, its status history,
and which orders are stuck pending. Imported at startup (``OrdersConfig.ready``) to register them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone

from orders.selectors import customer_email, order_get, order_history, order_list_pending
from shared.money import money
from shared.saga import moment, pending_orders_reader, story_part


@story_part("order")
def order_part(*, order_id: uuid.UUID) -> dict[str, Any] | None:
    order = order_get(order_id=order_id)
    if order is None:
        return None
    return {
        "id": str(order.id),
        "status": order.status,
        "customer_id": str(order.customer_id),
        "customer_email": customer_email(customer_id=order.customer_id),
        "total": money(order.total),
        "currency": order.currency,
        "rejection_reason": order.rejection_reason,
        "payment_status": order.payment_status,
        "created_at": moment(order.created_at),
    }


@story_part("history")
def history_part(*, order_id: uuid.UUID) -> list[dict[str, Any]]:
    order = order_get(order_id=order_id)
    if order is None:
        return []
    return [
        {"status": step.status, "at": moment(step.at), "by": str(step.by) if step.by else None, "reason": step.reason}
        for step in order_history(order=order)
    ]


@pending_orders_reader
def stuck_orders(*, older_than: timedelta) -> list[dict[str, Any]]:
    now = timezone.now()
    return [
        {
            "order_id": str(order.id),
            "created_at": moment(order.created_at),
            "age_seconds": round((now - order.created_at).total_seconds(), 1),
        }
        for order in order_list_pending(created_before=now - older_than)
    ]
