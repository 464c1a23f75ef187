"""shop_reservations_failed_total counts committed failures; shop_low_stock_items is counted at scrape time."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, transaction
from prometheus_client import REGISTRY

from inventory.metrics import LowStockCollector
from inventory.services import StockLine, stock_reserve
from inventory.tests.factories import StockItemFactory, order_placed
from inventory.tests.helpers import apply

pytestmark = pytest.mark.django_db


class RolledBack(Exception):
    pass


def failures_counted() -> float:
    return REGISTRY.get_sample_value("shop_reservations_failed_total") or 0.0


def low_stock_items() -> float | None:
    """The value one scrape reports, None when it reports nothing."""
    samples = [sample for metric in LowStockCollector().collect() for sample in metric.samples]
    assert len(samples) <= 1
    return samples[0].value if samples else None


def test_a_failed_reservation_is_counted_once_committed(django_capture_on_commit_callbacks):
    kite = StockItemFactory(on_hand=1)
    before = failures_counted()

    with django_capture_on_commit_callbacks(execute=True):
        apply(order_placed(uuid.uuid4(), [(kite.product_id, 2)]))

    assert failures_counted() == before + 1


def test_a_successful_reservation_is_not_counted_as_failed(django_capture_on_commit_callbacks):
    kite = StockItemFactory(on_hand=5)
    before = failures_counted()

    with django_capture_on_commit_callbacks(execute=True):
        apply(order_placed(uuid.uuid4(), [(kite.product_id, 2)]))

    assert failures_counted() == before


def test_a_rolled_back_failed_reservation_is_not_counted(django_capture_on_commit_callbacks):
    kite = StockItemFactory(on_hand=1)
    before = failures_counted()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RolledBack), transaction.atomic():
        stock_reserve(order_id=uuid.uuid4(), lines=[StockLine(kite.product_id, 2)])
        raise RolledBack

    assert failures_counted() == before


def test_a_redelivered_order_is_not_counted_again(django_capture_on_commit_callbacks):
    kite = StockItemFactory(on_hand=1)
    order_id = uuid.uuid4()
    before = failures_counted()

    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(order_id=order_id, lines=[StockLine(kite.product_id, 2)])
        stock_reserve(order_id=order_id, lines=[StockLine(kite.product_id, 2)])

    assert failures_counted() == before + 1


def test_low_stock_counts_active_items_at_or_below_their_threshold():
    StockItemFactory(on_hand=5, reserved=0, low_stock_threshold=5)  # at the threshold: low
    StockItemFactory(on_hand=10, reserved=8, low_stock_threshold=5)  # 2 available: low
    StockItemFactory(on_hand=0, low_stock_threshold=0)  # nothing, and a zero threshold: low
    StockItemFactory(on_hand=6, reserved=0, low_stock_threshold=5)  # above: not low
    StockItemFactory(on_hand=0, low_stock_threshold=5, is_active=False)  # deleted product: not counted

    assert low_stock_items() == 3


def test_low_stock_is_zero_without_stock_items():
    assert low_stock_items() == 0


def test_low_stock_follows_the_stock_at_each_scrape():
    item = StockItemFactory(on_hand=20, low_stock_threshold=5)
    assert low_stock_items() == 0

    item.reserved = 16
    item.save(update_fields=["reserved"])

    assert low_stock_items() == 1


def test_low_stock_reports_nothing_while_the_database_fails(monkeypatch):
    def unavailable(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("inventory.metrics.StockItem.objects.filter", unavailable)

    assert low_stock_items() is None


def test_the_inventory_metrics_page_shows_low_stock(client):
    StockItemFactory(on_hand=1, low_stock_threshold=5)

    body = client.get("/metrics").content.decode()

    assert "# TYPE shop_low_stock_items gauge" in body
    assert "shop_low_stock_items 1.0" in body
    assert "shop_reservations_failed_total" in body
