"""What the order service tells the consistency check (:mod:`shared.consistency`): every order's status,
and any Idempotency-Key that more than one order came from. Imported at startup (``OrdersConfig.ready``)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from orders.models import IdempotencyKey, Order
from shared.consistency import facts_part
from shared.saga import moment


@facts_part("orders")
def orders_facts() -> list[list[Any]]:
    """``[order_id, status, updated_at]`` per order: compact, since a shop has many."""
    rows = Order.objects.order_by().values_list("id", "status", "updated_at")
    return [[str(order_id), status, moment(updated_at)] for order_id, status, updated_at in rows.iterator()]


@facts_part("idempotency_keys_reused")
def idempotency_keys_reused() -> list[dict[str, Any]]:
    """(customer, key) pairs held by more than one row; the unique index should make this always empty."""
    rows = (
        IdempotencyKey.objects.order_by()
        .values("customer_id", "key")
        .annotate(orders=Count("order_id", distinct=True), rows=Count("id"))
        .filter(rows__gt=1)
    )
    return [
        {"customer_id": str(row["customer_id"]), "key": row["key"], "rows": row["rows"], "orders": row["orders"]}
        for row in rows
    ]
