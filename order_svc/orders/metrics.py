"""Business metrics of orders, counted once the change has committed (``transaction.on_commit``).

Each process counts what it commits: web placements, cancellations and staff transitions, consumer
confirmations, rejections and expiries; Prometheus adds the targets up. A rolled-back change is never
counted. ``shop_orders_pending_oldest_seconds`` is read from the database when ``/metrics`` of the web
process is scraped, so it is right whichever process placed or settled the orders.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal

from django.db import DatabaseError, transaction
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from orders.models import Order, OrderStatus
from shared.metrics import collect_at_scrape

logger = logging.getLogger(__name__)

# "placed", then one event per status an order can move to (the status's own name), then "expired":
# a pending order rejected by the timeout sweep, counted as "rejected" too.
ORDER_EVENTS: tuple[str, ...] = (
    "placed",
    *(status for status in OrderStatus.values if status != OrderStatus.PENDING),
    "expired",
)

ORDERS = Counter(
    "shop_orders",
    "Orders placed, status changes by the status entered (confirmed|rejected|cancelled|shipped|delivered), "
    "and pending orders rejected for waiting too long (expired, also counted as rejected).",
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


def count_expired_on_commit() -> None:
    """Counts a pending order rejected by the timeout once the caller's transaction commits."""
    transaction.on_commit(ORDERS.labels("expired").inc)


PENDING_OLDEST_NAME = "shop_orders_pending_oldest_seconds"
PENDING_OLDEST_HELP = "Age in seconds of the oldest order still pending (0 when none is): a saga that does not move."


class PendingOldestCollector:
    """``shop_orders_pending_oldest_seconds`` at each scrape; absent while the database does not answer."""

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(PENDING_OLDEST_NAME, PENDING_OLDEST_HELP)

    def collect(self) -> Iterator[Metric]:
        try:
            # The (status, -created_at) index answers this from its end: one index probe per scrape.
            oldest = (
                Order.objects.filter(status=OrderStatus.PENDING)
                .order_by("created_at")
                .values_list("created_at", flat=True)
                .first()
            )
        except DatabaseError as exc:
            # /metrics must answer while the database is down: that is when it is read most.
            logger.warning("oldest pending order unavailable: %s", exc)
            return
        age = 0.0 if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())
        yield GaugeMetricFamily(PENDING_OLDEST_NAME, PENDING_OLDEST_HELP, value=age)


collect_at_scrape(PendingOldestCollector())
