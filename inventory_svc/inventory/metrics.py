"""Business metrics of stock.

``shop_reservations_failed_total`` and ``shop_shipment_anomalies_total`` count in the process that
commits the change (the consumer), once it has committed. ``shop_low_stock_items`` is counted by the
database when ``/metrics`` of the web process is scraped (one COUNT per scrape, by whichever worker
answers), so it is right whoever changed the stock: the consumer, a staff adjustment or a new threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError, transaction
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from inventory.models import StockItem
from inventory.selectors import LOW_STOCK
from shared.metrics import collect_at_scrape

logger = logging.getLogger(__name__)

RESERVATIONS_FAILED = Counter(
    "shop_reservations_failed", "Orders inventory could not reserve every line of (nothing was reserved)."
)
# Why a shipped order had no reservation to consume: none at all, or one that was released or had failed.
SHIPMENT_ANOMALY_REASONS: tuple[str, ...] = ("no_reservation", "released", "failed")
SHIPMENT_ANOMALIES = Counter(
    "shop_shipment_anomalies",
    "Shipped orders without a reserved reservation to consume (no_reservation|released|failed); stock unchanged.",
    ["reason"],
)
for _reason in SHIPMENT_ANOMALY_REASONS:
    SHIPMENT_ANOMALIES.labels(_reason)  # every series exists from the start, at zero
LOW_STOCK_NAME = "shop_low_stock_items"
LOW_STOCK_HELP = "Active stock items whose available quantity is at or below their low-stock threshold."


def count_reservation_failed_on_commit() -> None:
    """Counts a failed reservation once the caller's transaction commits."""
    transaction.on_commit(RESERVATIONS_FAILED.inc)


def count_shipment_anomaly_on_commit(*, reason: str) -> None:
    """Counts a shipment that found no reservation to consume, once the caller's transaction commits."""
    if reason not in SHIPMENT_ANOMALY_REASONS:
        raise ValueError(f"Unknown shipment anomaly {reason!r}; one of {', '.join(SHIPMENT_ANOMALY_REASONS)}.")
    transaction.on_commit(SHIPMENT_ANOMALIES.labels(reason).inc)


class LowStockCollector:
    """``shop_low_stock_items``, counted at each scrape; absent while the database does not answer."""

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(LOW_STOCK_NAME, LOW_STOCK_HELP)

    def collect(self) -> Iterator[Metric]:
        try:
            count = StockItem.objects.filter(LOW_STOCK, is_active=True).count()
        except DatabaseError as exc:
            # /metrics must answer while the database is down: that is when it is read most.
            logger.warning("low-stock count unavailable: %s", exc)
            return
        yield GaugeMetricFamily(LOW_STOCK_NAME, LOW_STOCK_HELP, value=count)


collect_at_scrape(LowStockCollector())
