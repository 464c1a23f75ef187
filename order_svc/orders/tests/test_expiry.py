"""Pending orders time out: the sweep rejects them once, however many sweeps run, and a late reservation is released."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from orders.models import Order, OrderStatus, StatusHistory
from orders.services import EXPIRED_REASON, order_expire_pending
from orders.tests.factories import make_order
from orders.tests.support import deliver
from shared.models import OutboxEvent
from shared.periodic import registered_tasks
from shared.testing.outbox import published

TIMEOUT = timedelta(minutes=10)


def placed_ago(age: timedelta, *, status: str = OrderStatus.PENDING) -> Order:
    order = make_order(status=status)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - age)
    return Order.objects.get(pk=order.pk)


def orders_counted(event: str) -> float:
    return REGISTRY.get_sample_value("shop_orders_total", {"event": event}) or 0.0


def status_of(order: Order) -> str:
    return Order.objects.get(pk=order.pk).status


def reserved(order: Order):
    lines = [{"product_id": str(line.product_id), "quantity": line.quantity} for line in order.lines.all()]
    return deliver("inventory.reserved", str(order.id), {"order_id": str(order.id), "lines": lines})


def test_the_consumer_sweeps_every_configured_interval(settings):
    [task] = [task for task in registered_tasks() if task.name == "orders.expire_pending"]

    assert task.every_seconds == settings.ORDER_EXPIRY_INTERVAL_SECONDS


@pytest.mark.django_db
class TestTheSweep:
    def test_rejects_a_pending_order_older_than_the_timeout_with_the_timeout_reason(self):
        order = placed_ago(TIMEOUT + timedelta(seconds=1))

        expired = order_expire_pending(older_than=TIMEOUT)

        assert [expired_order.id for expired_order in expired] == [order.id]
        order.refresh_from_db()
        assert (order.status, order.rejection_reason) == ("rejected", "timed out waiting for stock reservation")

    def test_an_order_with_its_stock_reserved_times_out_waiting_for_its_payment(self):
        order = placed_ago(TIMEOUT + timedelta(seconds=1))
        reserved(order)

        order_expire_pending(older_than=TIMEOUT)

        order.refresh_from_db()
        assert (order.status, order.rejection_reason) == ("rejected", "timed out waiting for payment authorization")
        assert published()[-1] == (
            "order.rejected",
            {"order_id": str(order.id), "customer_id": str(order.customer_id), "reason": order.rejection_reason},
        )

    def test_records_the_rejection_in_the_history_as_the_systems(self):
        order = placed_ago(TIMEOUT * 2)

        order_expire_pending(older_than=TIMEOUT)

        assert list(
            StatusHistory.objects.filter(order=order).order_by("at", "id").values_list("status", "by", "reason")
        ) == [
            ("pending", order.customer_id, "Placed."),
            ("rejected", None, EXPIRED_REASON),
        ]

    def test_publishes_status_changed_and_rejected_so_inventory_releases_the_stock(self):
        order = placed_ago(TIMEOUT * 2)

        order_expire_pending(older_than=TIMEOUT)

        assert published() == [
            (
                "order.status_changed",
                {
                    "order_id": str(order.id),
                    "from_status": "pending",
                    "to_status": "rejected",
                    "by": None,
                    "reason": EXPIRED_REASON,
                },
            ),
            (
                "order.rejected",
                {"order_id": str(order.id), "customer_id": str(order.customer_id), "reason": EXPIRED_REASON},
            ),
        ]

    def test_counts_expired_besides_rejected_once_committed(self, django_capture_on_commit_callbacks):
        placed_ago(TIMEOUT * 2)
        expired, rejected = orders_counted("expired"), orders_counted("rejected")

        with django_capture_on_commit_callbacks(execute=True):
            order_expire_pending(older_than=TIMEOUT)

        assert (orders_counted("expired"), orders_counted("rejected")) == (expired + 1, rejected + 1)

    def test_leaves_young_pending_and_settled_orders_alone(self, django_capture_on_commit_callbacks):
        young = placed_ago(TIMEOUT - timedelta(seconds=5))
        settled = {
            status: placed_ago(TIMEOUT * 3, status=status) for status in OrderStatus.values if status != "pending"
        }
        expired = orders_counted("expired")

        with django_capture_on_commit_callbacks(execute=True):
            assert order_expire_pending(older_than=TIMEOUT) == []

        assert status_of(young) == "pending"
        assert {status: status_of(order) for status, order in settled.items()} == {status: status for status in settled}
        assert not OutboxEvent.objects.exists()
        assert StatusHistory.objects.count() == 1 + len(settled)
        assert orders_counted("expired") == expired

    def test_takes_the_oldest_first_and_at_most_limit(self):
        ages = [TIMEOUT * 5, TIMEOUT * 3, TIMEOUT * 4, TIMEOUT * 2]
        orders = [placed_ago(age) for age in ages]

        expired = order_expire_pending(older_than=TIMEOUT, limit=2)

        assert [order.id for order in expired] == [orders[0].id, orders[2].id]
        assert [status_of(order) for order in orders] == ["rejected", "pending", "rejected", "pending"]


@pytest.mark.django_db
class TestALateReservation:
    def test_for_an_expired_order_publishes_order_rejected_again_and_changes_nothing_else(
        self, django_capture_on_commit_callbacks
    ):
        order = placed_ago(TIMEOUT * 2)
        order_expire_pending(older_than=TIMEOUT)
        OutboxEvent.objects.all().delete()
        history = list(StatusHistory.objects.filter(order=order).values_list("id", flat=True))
        counted = {event: orders_counted(event) for event in ("confirmed", "rejected", "expired")}

        with django_capture_on_commit_callbacks(execute=True):
            reserved(order)

        assert published() == [
            (
                "order.rejected",
                {"order_id": str(order.id), "customer_id": str(order.customer_id), "reason": EXPIRED_REASON},
            )
        ]
        order.refresh_from_db()
        assert (order.status, order.rejection_reason) == ("rejected", EXPIRED_REASON)
        assert list(StatusHistory.objects.filter(order=order).values_list("id", flat=True)) == history
        assert {event: orders_counted(event) for event in counted} == counted


@pytest.mark.django_db(transaction=True)
class TestSeveralSweeps:
    def test_two_sweeps_at_once_reject_each_order_exactly_once(self):
        orders = [placed_ago(TIMEOUT * 2) for _ in range(30)]
        start = threading.Barrier(2)
        results: dict[str, list[Order]] = {}
        failures: list[BaseException] = []

        def sweep(name: str) -> None:
            try:
                start.wait(timeout=10)
                results[name] = order_expire_pending(older_than=TIMEOUT)
            except BaseException as exc:  # surfaced below: a thread's exception is otherwise lost
                failures.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=sweep, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert not failures
        handled = [order.id for name in ("a", "b") for order in results[name]]
        assert sorted(handled) == sorted(order.id for order in orders)
        assert StatusHistory.objects.filter(status="rejected").count() == 30
        assert OutboxEvent.objects.filter(event_type="order.rejected").count() == 30

    def test_a_sweep_skips_an_order_locked_elsewhere_instead_of_waiting_for_it(self):
        locked, free = placed_ago(TIMEOUT * 3), placed_ago(TIMEOUT * 2)
        holding, release = threading.Event(), threading.Event()

        def hold_lock() -> None:
            try:
                with transaction.atomic():
                    Order.objects.select_for_update().get(pk=locked.pk)
                    holding.set()
                    release.wait(timeout=30)
            finally:
                connection.close()

        holder = threading.Thread(target=hold_lock)
        holder.start()
        try:
            assert holding.wait(timeout=10)
            expired = order_expire_pending(older_than=TIMEOUT)
        finally:
            release.set()
            holder.join(timeout=30)

        assert [order.id for order in expired] == [free.id]
        assert status_of(locked) == "pending"


@pytest.mark.django_db
class TestTheCommand:
    def test_rejects_what_is_older_than_asked_and_prints_it(self):
        old, young = placed_ago(timedelta(seconds=90)), placed_ago(timedelta(seconds=10))
        out = io.StringIO()

        call_command("expire_pending_orders", "--older-than", "60", stdout=out)

        assert (status_of(old), status_of(young)) == ("rejected", "pending")
        lines = out.getvalue().splitlines()
        assert lines[0].startswith(f"{old.id}  placed ")
        assert lines[0].endswith("rejected")
        assert lines[-1] == "rejected 1 order(s) pending for over 60s"

    def test_defaults_to_the_configured_timeout(self, settings):
        settings.ORDER_PENDING_TIMEOUT_SECONDS = 600
        younger, older = placed_ago(timedelta(seconds=590)), placed_ago(timedelta(seconds=610))

        call_command("expire_pending_orders", stdout=io.StringIO())

        assert (status_of(younger), status_of(older)) == ("pending", "rejected")

    def test_refuses_a_negative_age(self):
        order = placed_ago(TIMEOUT)

        with pytest.raises(CommandError, match="--older-than must be 0 or more seconds"):
            call_command("expire_pending_orders", "--older-than", "-5", stdout=io.StringIO())

        assert status_of(order) == "pending"
