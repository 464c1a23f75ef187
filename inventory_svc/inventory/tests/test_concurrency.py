"""Concurrent orders on real PostgreSQL: never oversold, never deadlocked, the ledger always adds up.

Each thread applies its order.placed as the consumer would, on its own database connection,
so the row locks really compete. Committed data is needed, hence ``transaction=True``.
"""

import threading
import uuid
from collections.abc import Callable

import pytest
from django.db import IntegrityError, connection
from django.db.models import Sum

from inventory.models import Movement, Reservation, ReservationState, StockItem
from inventory.tests.factories import StockItemFactory, order_placed
from inventory.tests.helpers import apply
from shared.consumer import Outcome
from shared.events import Envelope
from shared.testing.outbox import payloads

pytestmark = pytest.mark.django_db(transaction=True)


def apply_concurrently(envelopes: list[Envelope]) -> tuple[list[Outcome], list[BaseException]]:
    """Applies every envelope in its own thread, all released at once; returns outcomes and errors."""
    start = threading.Barrier(len(envelopes))
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(envelope: Envelope) -> Callable[[], None]:
        def run() -> None:
            try:
                start.wait(timeout=30)
                outcome = apply(envelope)
                with lock:
                    outcomes.append(outcome)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=worker(envelope)) for envelope in envelopes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return outcomes, errors


def test_twenty_concurrent_orders_for_seven_units_confirm_exactly_seven():
    stock = StockItemFactory(on_hand=7)

    outcomes, errors = apply_concurrently([order_placed(uuid.uuid4(), [(stock.product_id, 1)]) for _ in range(20)])

    assert errors == []
    assert outcomes == [Outcome.APPLIED] * 20
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved, stock.available, stock.stock_version) == (7, 7, 0, 7)
    assert Reservation.objects.filter(state=ReservationState.RESERVED).count() == 7
    assert Reservation.objects.filter(state=ReservationState.FAILED).count() == 13
    assert Movement.objects.aggregate(reserved=Sum("reserved_delta"))["reserved"] == 7
    assert len(payloads("inventory.reserved")) == 7
    assert len(payloads("inventory.reservation_failed")) == 13
    assert sorted(event["stock_version"] for event in payloads("inventory.changed")) == [1, 2, 3, 4, 5, 6, 7]
    assert all(event["on_hand"] - event["reserved"] >= 0 for event in payloads("inventory.changed"))


def test_orders_listing_the_same_products_in_opposite_orders_do_not_deadlock():
    first, second, third = (StockItemFactory(on_hand=100) for _ in range(3))
    forwards = [(first.product_id, 1), (second.product_id, 2), (third.product_id, 3)]

    outcomes, errors = apply_concurrently(
        [order_placed(uuid.uuid4(), forwards if number % 2 else forwards[::-1]) for number in range(20)]
    )

    assert errors == []
    assert outcomes == [Outcome.APPLIED] * 20
    assert list(StockItem.objects.order_by("pk").values_list("reserved", flat=True)) == [20, 40, 60]
    assert Reservation.objects.filter(state=ReservationState.RESERVED).count() == 20


def test_one_order_delivered_concurrently_under_two_event_ids_is_reserved_once():
    stock = StockItemFactory(on_hand=10)
    order_id = uuid.uuid4()
    envelopes = [order_placed(order_id, [(stock.product_id, 3)]) for _ in range(2)]

    outcomes, errors = apply_concurrently(envelopes)
    # The loser either saw the winner's reservation, or hit its unique order_id (IntegrityError)
    # and is retried by the consumer: the retry finds the reservation.
    retried = [apply(envelope, offset=1) for envelope in envelopes]

    assert all(isinstance(error, IntegrityError) for error in errors)
    assert len(outcomes) + len(errors) == 2
    assert sorted(retried) == sorted([Outcome.DUPLICATE] * len(outcomes) + [Outcome.APPLIED] * len(errors))
    stock.refresh_from_db()
    assert (stock.reserved, stock.stock_version) == (3, 1)
    assert Reservation.objects.count() == 1
    assert Movement.objects.count() == 1
    assert len(payloads("inventory.reserved")) == 1
