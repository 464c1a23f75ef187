"""shop_orders_total and shop_order_value count committed changes only; the oldest pending age is read at scrape."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from orders.errors import IllegalTransition
from orders.metrics import ORDER_EVENTS, PendingOldestCollector
from orders.models import Order, OrderStatus
from orders.services import LineRequest, order_place, order_transition
from orders.tests.factories import make_order
from orders.tests.support import deliver

pytestmark = pytest.mark.django_db


class RolledBack(Exception):
    pass


def orders_counted(event: str) -> float:
    return REGISTRY.get_sample_value("shop_orders_total", {"event": event}) or 0.0


def order_values(currency: str) -> tuple[float, float]:
    """(how many totals were observed, their sum) for ``currency``."""
    labels = {"currency": currency}
    count = REGISTRY.get_sample_value("shop_order_value_count", labels) or 0.0
    total = REGISTRY.get_sample_value("shop_order_value_sum", labels) or 0.0
    return count, total


def place(catalog, *, currency: str = "USD") -> None:
    mug = catalog.add("MUG-1", "19.99", currency=currency)
    order_place(
        customer_id=uuid.uuid4(),
        idempotency_key=uuid.uuid4().hex,
        lines=[LineRequest(mug, 2)],
        payment_method="pm_card_visa",
    )


def test_every_event_has_a_series_from_the_start():
    assert set(ORDER_EVENTS) == {
        "placed",
        "confirmed",
        "rejected",
        "cancelled",
        "shipped",
        "delivered",
        "refunded",
        "expired",
    }
    for event in ORDER_EVENTS:
        assert REGISTRY.get_sample_value("shop_orders_total", {"event": event}) is not None


def test_a_placement_is_counted_with_its_total_once_committed(catalog, django_capture_on_commit_callbacks):
    placed = orders_counted("placed")
    count, total = order_values("EUR")

    with django_capture_on_commit_callbacks(execute=True):
        place(catalog, currency="EUR")

    assert orders_counted("placed") == placed + 1
    assert order_values("EUR") == (count + 1, pytest.approx(total + 39.98))


def test_a_placement_is_not_counted_before_its_transaction_commits(catalog, django_capture_on_commit_callbacks):
    placed = orders_counted("placed")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        place(catalog)

    assert orders_counted("placed") == placed
    assert len(callbacks) == 1


def test_a_rolled_back_placement_is_not_counted(catalog, django_capture_on_commit_callbacks):
    placed = orders_counted("placed")
    count, _ = order_values("USD")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RolledBack), transaction.atomic():
        place(catalog)
        raise RolledBack

    assert orders_counted("placed") == placed
    assert order_values("USD")[0] == count


def test_a_transition_is_counted_by_the_status_entered(django_capture_on_commit_callbacks):
    order = make_order(status=OrderStatus.CONFIRMED)
    shipped, cancelled = orders_counted("shipped"), orders_counted("cancelled")

    with django_capture_on_commit_callbacks(execute=True):
        order_transition(order=order, to=OrderStatus.SHIPPED, by=uuid.uuid4())

    assert orders_counted("shipped") == shipped + 1
    assert orders_counted("cancelled") == cancelled


def test_a_rolled_back_transition_is_not_counted(django_capture_on_commit_callbacks):
    order = make_order()
    cancelled = orders_counted("cancelled")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RolledBack), transaction.atomic():
        order_transition(order=order, to=OrderStatus.CANCELLED, by=None)
        raise RolledBack

    assert orders_counted("cancelled") == cancelled


def test_an_illegal_transition_is_not_counted(django_capture_on_commit_callbacks):
    order = make_order(status=OrderStatus.DELIVERED)
    cancelled = orders_counted("cancelled")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(IllegalTransition):
        order_transition(order=order, to=OrderStatus.CANCELLED, by=None)

    assert orders_counted("cancelled") == cancelled


def test_the_consumer_counts_a_confirmation_once(django_capture_on_commit_callbacks):
    order = make_order()
    confirmed = orders_counted("confirmed")
    authorized = {"order_id": str(order.id), "amount": "10.00", "currency": "USD", "provider": "sandbox"}

    with django_capture_on_commit_callbacks(execute=True):
        deliver("payment.authorized", str(order.id), authorized)
        deliver("payment.authorized", str(order.id), authorized)  # a redelivery

    assert orders_counted("confirmed") == confirmed + 1


def pending_oldest_seconds() -> float | None:
    """The value one scrape reports, None when it reports nothing."""
    samples = [sample for metric in PendingOldestCollector().collect() for sample in metric.samples]
    assert len(samples) <= 1
    return samples[0].value if samples else None


def placed_ago(seconds: int, *, status: str = OrderStatus.PENDING) -> Order:
    order = make_order(status=status)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))
    return order


def test_pending_oldest_is_the_age_of_the_oldest_pending_order():
    placed_ago(30)
    placed_ago(300)
    placed_ago(5000, status=OrderStatus.CONFIRMED)  # older, but no longer waiting
    placed_ago(9000, status=OrderStatus.REJECTED)

    assert pending_oldest_seconds() == pytest.approx(300, abs=5)


def test_pending_oldest_is_zero_without_pending_orders():
    placed_ago(600, status=OrderStatus.CANCELLED)

    assert pending_oldest_seconds() == 0


def test_pending_oldest_reports_nothing_while_the_database_fails(monkeypatch):
    def unavailable(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("orders.metrics.Order.objects.filter", unavailable)

    assert pending_oldest_seconds() is None


def test_the_order_metrics_page_shows_the_oldest_pending_age(client):
    placed_ago(120)

    body = client.get("/metrics").content.decode()

    assert "# TYPE shop_orders_pending_oldest_seconds gauge" in body
    [line] = [line for line in body.splitlines() if line.startswith("shop_orders_pending_oldest_seconds ")]
    assert float(line.split()[1]) == pytest.approx(120, abs=5)
