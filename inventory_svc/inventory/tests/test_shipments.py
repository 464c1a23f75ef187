"""order.shipped turns the order's reservation into a shipment, once; order.rejected gives back what was reserved."""

import logging
import uuid

import pytest
from django.db import transaction
from django.db.models import Sum
from prometheus_client import REGISTRY

from inventory.models import Movement, MovementKind, Reservation, ReservationState, StockItem
from inventory.services import StockLine, stock_adjust, stock_release, stock_reserve, stock_ship
from inventory.tests.factories import StockItemFactory, order_placed, order_rejected, order_shipped
from inventory.tests.helpers import apply
from shared.consumer import Outcome
from shared.models import OutboxEvent
from shared.testing.outbox import payloads, published_types

pytestmark = pytest.mark.django_db


class RolledBack(Exception):
    pass


def levels(stock: StockItem) -> tuple[int, int, int]:
    """(on_hand, reserved, available) as the database holds them."""
    stock.refresh_from_db()
    return stock.on_hand, stock.reserved, stock.available


def anomalies(reason: str) -> float:
    return REGISTRY.get_sample_value("shop_shipment_anomalies_total", {"reason": reason}) or 0.0


def reserved_order(*lines: tuple[StockItem, int]) -> uuid.UUID:
    """A new order holding ``lines`` of (stock, quantity) reserved, with the outbox emptied."""
    order_id = uuid.uuid4()
    stock_reserve(order_id=order_id, lines=[StockLine(stock.product_id, quantity) for stock, quantity in lines])
    OutboxEvent.objects.all().delete()
    return order_id


# Shipping a reserved order


def test_shipping_takes_the_reserved_units_off_the_shelf():
    kite = StockItemFactory(on_hand=10)
    order_id = reserved_order((kite, 3))

    outcome = apply(order_shipped(order_id, [(kite.product_id, 3)]), offset=1)

    assert outcome is Outcome.APPLIED
    assert levels(kite) == (7, 0, 7)
    assert Reservation.objects.get(order_id=order_id).state == ReservationState.CONSUMED


def test_shipping_writes_one_shipment_movement_per_line():
    kite = StockItemFactory(on_hand=10)
    order_id = reserved_order((kite, 3))

    apply(order_shipped(order_id, [(kite.product_id, 3)]), offset=1)

    shipments = Movement.objects.filter(kind=MovementKind.SHIPMENT)
    assert list(shipments.values_list("stock_item", "on_hand_delta", "reserved_delta", "order_id", "reason")) == [
        (kite.pk, -3, -3, order_id, "order shipped")
    ]


def test_shipping_publishes_changed_with_available_unchanged_and_a_new_stock_version():
    kite = StockItemFactory(sku="KITE", on_hand=10)
    order_id = reserved_order((kite, 3))

    apply(order_shipped(order_id, [(kite.product_id, 3)]), offset=1)

    assert published_types() == ["inventory.changed"]
    assert payloads("inventory.changed") == [
        {
            "product_id": str(kite.product_id),
            "sku": "KITE",
            "on_hand": 7,
            "reserved": 0,
            "available": 7,
            "stock_version": 2,
        }
    ]


def test_a_multi_line_order_ships_every_line():
    kite = StockItemFactory(on_hand=10, reserved=2)
    ball = StockItemFactory(on_hand=4)
    other_order = reserved_order((kite, 1))
    order_id = reserved_order((kite, 3), (ball, 4))

    apply(order_shipped(order_id, [(kite.product_id, 3), (ball.product_id, 4)]), offset=1)

    assert levels(kite) == (7, 3, 4)  # the other order's unit and the 2 reserved before stay reserved
    assert levels(ball) == (0, 0, 0)
    assert sorted(
        Movement.objects.filter(kind=MovementKind.SHIPMENT).values_list("stock_item", "on_hand_delta", "reserved_delta")
    ) == sorted([(kite.pk, -3, -3), (ball.pk, -4, -4)])
    assert Reservation.objects.get(order_id=other_order).state == ReservationState.RESERVED
    assert len(payloads("inventory.changed")) == 2


def test_the_ledger_sums_to_the_levels_after_a_shipment():
    stock = StockItemFactory()
    stock_adjust(product_id=stock.product_id, delta=10, reason="delivery", actor=None)
    cancelled_order = reserved_order((stock, 2))
    shipped_order = reserved_order((stock, 3))
    stock_release(order_id=cancelled_order, reason="cancelled")

    stock_ship(order_id=shipped_order)

    sums = Movement.objects.filter(stock_item=stock).aggregate(
        on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
    )
    assert levels(stock) == (7, 0, 7)
    assert (sums["on_hand"], sums["reserved"]) == (7, 0)


# Applied once


def test_the_same_shipment_event_twice_is_a_duplicate_shipped_once():
    kite = StockItemFactory(on_hand=10)
    order_id = reserved_order((kite, 3))
    envelope = order_shipped(order_id, [(kite.product_id, 3)])
    apply(envelope, offset=1)

    outcome = apply(envelope, offset=2)

    assert outcome is Outcome.DUPLICATE
    assert levels(kite) == (7, 0, 7)
    assert Movement.objects.filter(kind=MovementKind.SHIPMENT).count() == 1
    assert published_types() == ["inventory.changed"]


def test_a_second_shipment_event_of_a_shipped_order_changes_nothing_and_is_no_anomaly(
    caplog, django_capture_on_commit_callbacks
):
    kite = StockItemFactory(on_hand=10)
    order_id = reserved_order((kite, 3))
    apply(order_shipped(order_id, [(kite.product_id, 3)]), offset=1)
    before = {reason: anomalies(reason) for reason in ("no_reservation", "released", "failed")}
    caplog.clear()

    with caplog.at_level(logging.INFO, logger="inventory.services"), django_capture_on_commit_callbacks(execute=True):
        outcome = apply(order_shipped(order_id, [(kite.product_id, 3)]), offset=2)

    assert outcome is Outcome.APPLIED
    assert levels(kite) == (7, 0, 7)
    assert Movement.objects.filter(kind=MovementKind.SHIPMENT).count() == 1
    assert published_types() == ["inventory.changed"]
    assert {reason: anomalies(reason) for reason in before} == before
    assert [record.levelname for record in caplog.records] == ["INFO"]
    assert "already consumed" in caplog.text


# Shipments with nothing reserved to take off


def no_reservation(stock: StockItem) -> uuid.UUID:
    return uuid.uuid4()


def released_reservation(stock: StockItem) -> uuid.UUID:
    order_id = reserved_order((stock, 3))
    stock_release(order_id=order_id, reason="cancelled")
    return order_id


def failed_reservation(stock: StockItem) -> uuid.UUID:
    order_id = uuid.uuid4()
    stock_reserve(order_id=order_id, lines=[StockLine(stock.product_id, stock.available + 1)])
    return order_id


@pytest.mark.parametrize(
    ("make_order", "reason"),
    [(no_reservation, "no_reservation"), (released_reservation, "released"), (failed_reservation, "failed")],
)
def test_a_shipment_without_a_reserved_reservation_is_an_anomaly_counted_and_logged(
    make_order, reason, caplog, django_capture_on_commit_callbacks
):
    stock = StockItemFactory(on_hand=10, reserved=1)
    order_id = make_order(stock)
    before_levels, before_movements = levels(stock), Movement.objects.count()
    OutboxEvent.objects.all().delete()
    before = anomalies(reason)
    caplog.clear()

    with (
        caplog.at_level(logging.WARNING, logger="inventory.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        outcome = apply(order_shipped(order_id, [(stock.product_id, 3)]), offset=9)

    assert outcome is Outcome.APPLIED
    assert anomalies(reason) == before + 1
    assert levels(stock) == before_levels
    assert Movement.objects.count() == before_movements
    assert not Movement.objects.filter(kind=MovementKind.SHIPMENT).exists()
    assert OutboxEvent.objects.count() == 0
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert str(order_id) in caplog.text and reason in caplog.text


def test_a_rolled_back_anomaly_is_not_counted(django_capture_on_commit_callbacks):
    before = anomalies("no_reservation")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RolledBack), transaction.atomic():
        stock_ship(order_id=uuid.uuid4())
        raise RolledBack

    assert anomalies("no_reservation") == before


def test_every_anomaly_series_is_on_the_metrics_page_from_the_start(client):
    body = client.get("/metrics").content.decode()

    assert "# TYPE shop_shipment_anomalies_total counter" in body
    for reason in ("no_reservation", "released", "failed"):
        assert f'shop_shipment_anomalies_total{{reason="{reason}"}}' in body


# order.rejected


def test_order_rejected_releases_a_reservation_that_crossed_the_timeout():
    kite = StockItemFactory(on_hand=10)
    order_id = reserved_order((kite, 3))

    outcome = apply(order_rejected(order_id, reason="timed out waiting for stock reservation"), offset=1)

    assert outcome is Outcome.APPLIED
    assert levels(kite) == (10, 0, 10)
    assert Reservation.objects.get(order_id=order_id).state == ReservationState.RELEASED
    assert list(Movement.objects.filter(kind=MovementKind.RELEASE).values_list("reserved_delta", "reason")) == [
        (-3, "order rejected: timed out waiting for stock reservation")
    ]
    assert published_types() == ["inventory.released", "inventory.changed"]


def test_order_rejected_after_a_failed_reservation_changes_nothing():
    kite = StockItemFactory(on_hand=1)
    order_id = uuid.uuid4()
    apply(order_placed(order_id, [(kite.product_id, 3)]), offset=0)
    OutboxEvent.objects.all().delete()
    before_movements = Movement.objects.count()

    outcome = apply(order_rejected(order_id, reason="Not enough stock for KITE (wanted 3, available 1)"), offset=1)

    assert outcome is Outcome.APPLIED
    assert levels(kite) == (1, 0, 1)
    assert Reservation.objects.get(order_id=order_id).state == ReservationState.FAILED
    assert Movement.objects.count() == before_movements
    assert OutboxEvent.objects.count() == 0
