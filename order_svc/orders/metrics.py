"""Business metrics of orders, counted once the change has committed (``transaction.on_commit``).

Each process counts what it commits: web placements, cancellations and staff transitions, consumer
confirmations and rejections; Prometheus adds the targets up. A rolled-back change is never counted.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from prometheus_client import Counter, Histogram

from orders.models import OrderStatus

# "placed", then one event per status an order can move to (the status's own name).
ORDER_EVENTS: tuple[str, ...] = ("placed", *(status for status in OrderStatus.values if status != OrderStatus.PENDING))

ORDERS = Counter(
    "shop_orders",
    "Orders placed, and status changes by the status entered (placed|confirmed|rejected|cancelled|shipped|delivered).",
    ["event"],
)
ORDER_VALUE = Histogram(
    "shop_order_value",
    "Order totals at placement, by currency.",
    ["currency"],
    buckets=(5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
for _event in ORDER_EVENTS:
    ORDERS.labels(_event)  # every series exists from the start, at zero


def count_placed_on_commit(*, total: Decimal, currency: str) -> None:
    """Counts a placement and its total once the caller's transaction commits."""

    def count() -> None:
        ORDERS.labels("placed").inc()
        ORDER_VALUE.labels(currency).observe(float(total))

    transaction.on_commit(count)


def count_transition_on_commit(*, to: str) -> None:
    """Counts an order entering status ``to`` once the caller's transaction commits."""
    transaction.on_commit(ORDERS.labels(to).inc)
