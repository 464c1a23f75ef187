"""shop_orders_total and shop_order_value count committed changes only."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from prometheus_client import REGISTRY

from orders.errors import IllegalTransition
from orders.metrics import ORDER_EVENTS
from orders.models import OrderStatus
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
    order_place(customer_id=uuid.uuid4(), idempotency_key=uuid.uuid4().hex, lines=[LineRequest(mug, 2)])


def test_every_event_has_a_series_from_the_start():
    assert set(ORDER_EVENTS) == {"placed", "confirmed", "rejected", "cancelled", "shipped", "delivered", "expired"}
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
    lines = [{"product_id": str(line.product_id), "quantity": line.quantity} for line in order.lines.all()]

    with django_capture_on_commit_callbacks(execute=True):
        deliver("inventory.reserved", str(order.id), {"order_id": str(order.id), "lines": lines})
        deliver("inventory.reserved", str(order.id), {"order_id": str(order.id), "lines": lines})  # a redelivery

    assert orders_counted("confirmed") == confirmed + 1
