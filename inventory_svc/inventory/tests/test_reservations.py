"""order.placed reserves every line or none; order.cancelled releases; both once per order."""

import logging
import uuid

import pytest
from django.db.models import Sum

from inventory.models import Movement, MovementKind, Reservation, ReservationState, StockItem
from inventory.services import StockLine, stock_adjust, stock_release, stock_reserve
from inventory.tests.factories import StockItemFactory, order_cancelled, order_placed
from inventory.tests.helpers import apply
from shared.consumer import Outcome
from shared.models import OutboxEvent, ProcessedEvent
from shared.testing.outbox import payloads, published_types

pytestmark = pytest.mark.django_db


def levels(stock: StockItem) -> tuple[int, int, int]:
    stock.refresh_from_db()
    return stock.on_hand, stock.reserved, stock.stock_version


# Reserving


def test_order_placed_reserves_every_line():
    kite = StockItemFactory(sku="KITE", on_hand=10, reserved=1)
    ball = StockItemFactory(sku="BALL", on_hand=3)
    order_id = uuid.uuid4()

    outcome = apply(order_placed(order_id, [(kite.product_id, 4), (ball.product_id, 3)]))

    assert outcome is Outcome.APPLIED
    assert levels(kite) == (10, 5, 1)
    assert levels(ball) == (3, 3, 1)
    reservation = Reservation.objects.get()
    assert (reservation.order_id, reservation.state) == (order_id, ReservationState.RESERVED)
    assert sorted(reservation.lines.values_list("product_id", "quantity")) == sorted(
        [(kite.product_id, 4), (ball.product_id, 3)]
    )


def test_a_reservation_writes_one_reservation_movement_per_line():
    kite = StockItemFactory(on_hand=10)
    ball = StockItemFactory(on_hand=10)
    order_id = uuid.uuid4()

    apply(order_placed(order_id, [(kite.product_id, 4), (ball.product_id, 1)]))

    movements = Movement.objects.order_by("stock_item__sku").values_list(
        "stock_item", "kind", "on_hand_delta", "reserved_delta", "order_id", "actor"
    )
    assert sorted(movements) == sorted(
        [
            (kite.pk, MovementKind.RESERVATION, 0, 4, order_id, None),
            (ball.pk, MovementKind.RESERVATION, 0, 1, order_id, None),
        ]
    )


def test_a_reservation_publishes_reserved_and_one_changed_per_product():
    kite = StockItemFactory(sku="KITE", on_hand=10, stock_version=6)
    ball = StockItemFactory(sku="BALL", on_hand=2)
    order_id = uuid.uuid4()

    apply(order_placed(order_id, [(kite.product_id, 4), (ball.product_id, 2)]))

    assert payloads("inventory.reserved") == [
        {
            "order_id": str(order_id),
            "lines": [
                {"product_id": str(kite.product_id), "quantity": 4},
                {"product_id": str(ball.product_id), "quantity": 2},
            ],
        }
    ]
    changed = sorted(payloads("inventory.changed"), key=lambda payload: payload["sku"])
    assert changed == [
        {
            "product_id": str(ball.product_id),
            "sku": "BALL",
            "on_hand": 2,
            "reserved": 2,
            "available": 0,
            "stock_version": 1,
        },
        {
            "product_id": str(kite.product_id),
            "sku": "KITE",
            "on_hand": 10,
            "reserved": 4,
            "available": 6,
            "stock_version": 7,
        },
    ]
    assert payloads("inventory.reservation_failed") == []
    reserved_event = OutboxEvent.objects.get(event_type="inventory.reserved")
    assert (reserved_event.topic, reserved_event.key) == ("inventory", str(order_id))


def test_one_short_line_reserves_nothing_and_names_exactly_the_short_lines():
    plenty = StockItemFactory(on_hand=10)
    short = StockItemFactory(on_hand=3, reserved=1)
    unknown_product = uuid.uuid4()
    order_id = uuid.uuid4()

    apply(order_placed(order_id, [(plenty.product_id, 2), (short.product_id, 5), (unknown_product, 1)]))

    assert levels(plenty) == (10, 0, 0)
    assert levels(short) == (3, 1, 0)
    assert Movement.objects.count() == 0
    assert published_types() == ["inventory.reservation_failed"]
    assert payloads("inventory.reservation_failed") == [
        {
            "order_id": str(order_id),
            "short_lines": [
                {"product_id": str(short.product_id), "wanted": 5, "available": 2},
                {"product_id": str(unknown_product), "wanted": 1, "available": 0},
            ],
        }
    ]
    reservation = Reservation.objects.get(order_id=order_id)
    assert reservation.state == ReservationState.FAILED
    assert reservation.lines.count() == 0


def test_an_inactive_product_has_nothing_to_reserve():
    retired = StockItemFactory(on_hand=10, is_active=False)
    order_id = uuid.uuid4()

    apply(order_placed(order_id, [(retired.product_id, 1)]))

    assert levels(retired) == (10, 0, 0)
    assert payloads("inventory.reservation_failed")[0]["short_lines"] == [
        {"product_id": str(retired.product_id), "wanted": 1, "available": 0}
    ]


def test_exactly_the_available_quantity_can_be_reserved():
    stock = StockItemFactory(on_hand=5, reserved=2)

    apply(order_placed(uuid.uuid4(), [(stock.product_id, 3)]))

    assert levels(stock) == (5, 5, 1)


def test_lines_of_the_same_product_are_reserved_together():
    stock = StockItemFactory(on_hand=5)
    order_id = uuid.uuid4()

    reservation = stock_reserve(
        order_id=order_id,
        lines=[StockLine(product_id=stock.product_id, quantity=2), StockLine(product_id=stock.product_id, quantity=3)],
    )

    assert levels(stock) == (5, 5, 1)
    assert list(reservation.lines.values_list("product_id", "quantity")) == [(stock.product_id, 5)]
    assert Movement.objects.get().reserved_delta == 5
    assert payloads("inventory.reserved")[0]["lines"] == [{"product_id": str(stock.product_id), "quantity": 5}]


def test_lines_of_the_same_product_are_short_together():
    stock = StockItemFactory(on_hand=4)

    stock_reserve(
        order_id=uuid.uuid4(),
        lines=[StockLine(product_id=stock.product_id, quantity=2), StockLine(product_id=stock.product_id, quantity=3)],
    )

    assert levels(stock) == (4, 0, 0)
    assert payloads("inventory.reservation_failed")[0]["short_lines"] == [
        {"product_id": str(stock.product_id), "wanted": 5, "available": 4}
    ]


def test_an_order_without_lines_is_refused():
    with pytest.raises(ValueError, match="at least one line"):
        stock_reserve(order_id=uuid.uuid4(), lines=[])

    assert Reservation.objects.count() == 0


def test_a_line_of_zero_units_is_refused():
    stock = StockItemFactory(on_hand=4)

    with pytest.raises(ValueError, match="positive"):
        stock_reserve(order_id=uuid.uuid4(), lines=[StockLine(product_id=stock.product_id, quantity=0)])

    assert Reservation.objects.count() == 0


# One decision per order


def test_the_same_order_placed_event_twice_is_a_duplicate_reserved_once():
    stock = StockItemFactory(on_hand=10)
    envelope = order_placed(uuid.uuid4(), [(stock.product_id, 3)])
    apply(envelope, offset=0)

    outcome = apply(envelope, offset=1)

    assert outcome is Outcome.DUPLICATE
    assert levels(stock) == (10, 3, 1)
    assert Reservation.objects.count() == 1
    assert Movement.objects.count() == 1
    assert published_types() == ["inventory.reserved", "inventory.changed"]
    assert ProcessedEvent.objects.count() == 1


def test_the_same_order_under_a_new_event_id_reserves_nothing_again():
    stock = StockItemFactory(on_hand=10)
    order_id = uuid.uuid4()
    apply(order_placed(order_id, [(stock.product_id, 3)]), offset=0)

    outcome = apply(order_placed(order_id, [(stock.product_id, 3)]), offset=1)

    assert outcome is Outcome.APPLIED
    assert levels(stock) == (10, 3, 1)
    assert Reservation.objects.count() == 1
    assert Movement.objects.count() == 1
    assert published_types() == ["inventory.reserved", "inventory.changed"]


def test_a_short_order_redelivered_after_a_restock_stays_unreserved():
    stock = StockItemFactory(on_hand=1)
    order_id = uuid.uuid4()
    apply(order_placed(order_id, [(stock.product_id, 3)]), offset=0)
    stock_adjust(product_id=stock.product_id, delta=10, reason="delivery", actor=None)

    apply(order_placed(order_id, [(stock.product_id, 3)]), offset=1)

    assert levels(stock) == (11, 0, 1)
    assert Reservation.objects.get().state == ReservationState.FAILED
    assert len(payloads("inventory.reservation_failed")) == 1
    assert payloads("inventory.reserved") == []


def test_a_released_order_redelivered_is_not_reserved_again():
    stock = StockItemFactory(on_hand=5)
    order_id = uuid.uuid4()
    stock_reserve(order_id=order_id, lines=[StockLine(product_id=stock.product_id, quantity=2)])
    stock_release(order_id=order_id, reason="cancelled")

    again = stock_reserve(order_id=order_id, lines=[StockLine(product_id=stock.product_id, quantity=2)])

    assert again.state == ReservationState.RELEASED
    assert levels(stock) == (5, 0, 2)


# Releasing


def test_cancel_releases_the_reserved_stock():
    kite = StockItemFactory(on_hand=10)
    ball = StockItemFactory(on_hand=4)
    order_id = uuid.uuid4()
    apply(order_placed(order_id, [(kite.product_id, 4), (ball.product_id, 1)]), offset=0)

    outcome = apply(order_cancelled(order_id, reason="changed my mind"), offset=1)

    assert outcome is Outcome.APPLIED
    assert levels(kite) == (10, 0, 2)
    assert levels(ball) == (4, 0, 2)
    assert Reservation.objects.get().state == ReservationState.RELEASED
    releases = Movement.objects.filter(kind=MovementKind.RELEASE)
    assert sorted(
        releases.values_list("stock_item", "on_hand_delta", "reserved_delta", "order_id", "reason")
    ) == sorted(
        [
            (kite.pk, 0, -4, order_id, "order cancelled: changed my mind"),
            (ball.pk, 0, -1, order_id, "order cancelled: changed my mind"),
        ]
    )


def test_cancel_publishes_released_and_one_changed_per_product():
    stock = StockItemFactory(sku="KITE", on_hand=10)
    order_id = uuid.uuid4()
    apply(order_placed(order_id, [(stock.product_id, 4)]), offset=0)
    OutboxEvent.objects.all().delete()

    apply(order_cancelled(order_id), offset=1)

    assert published_types() == ["inventory.released", "inventory.changed"]
    assert payloads("inventory.released") == [
        {"order_id": str(order_id), "lines": [{"product_id": str(stock.product_id), "quantity": 4}]}
    ]
    assert payloads("inventory.changed") == [
        {
            "product_id": str(stock.product_id),
            "sku": "KITE",
            "on_hand": 10,
            "reserved": 0,
            "available": 10,
            "stock_version": 2,
        }
    ]
    assert Movement.objects.get(kind=MovementKind.RELEASE).reason == "order cancelled"


def test_releasing_twice_changes_nothing_the_second_time():
    stock = StockItemFactory(on_hand=10)
    order_id = uuid.uuid4()
    apply(order_placed(order_id, [(stock.product_id, 4)]), offset=0)
    apply(order_cancelled(order_id), offset=1)
    before = (levels(stock), Movement.objects.count(), OutboxEvent.objects.count())

    outcome = apply(order_cancelled(order_id), offset=2)

    assert outcome is Outcome.APPLIED
    assert (levels(stock), Movement.objects.count(), OutboxEvent.objects.count()) == before


def test_releasing_an_order_without_a_reservation_records_nothing_and_logs(caplog):
    stock = StockItemFactory(on_hand=10)
    order_id = uuid.uuid4()

    with caplog.at_level(logging.WARNING, logger="inventory.services"):
        result = stock_release(order_id=order_id, reason="cancelled")

    assert result is None
    assert levels(stock) == (10, 0, 0)
    assert Reservation.objects.count() == 0
    assert Movement.objects.count() == 0
    assert OutboxEvent.objects.count() == 0
    assert str(order_id) in caplog.text


def test_releasing_a_failed_reservation_changes_nothing():
    stock = StockItemFactory(on_hand=1, reserved=1)
    order_id = uuid.uuid4()
    stock_reserve(order_id=order_id, lines=[StockLine(product_id=stock.product_id, quantity=1)])

    result = stock_release(order_id=order_id, reason="cancelled")

    assert result is not None and result.state == ReservationState.FAILED
    assert levels(stock) == (1, 1, 0)
    assert published_types() == ["inventory.reservation_failed"]


def test_a_consumed_reservation_is_not_released():
    stock = StockItemFactory(on_hand=5)
    order_id = uuid.uuid4()
    stock_reserve(order_id=order_id, lines=[StockLine(product_id=stock.product_id, quantity=2)])
    Reservation.objects.filter(order_id=order_id).update(state=ReservationState.CONSUMED)

    stock_release(order_id=order_id, reason="cancelled")

    assert levels(stock) == (5, 2, 1)
    assert not Movement.objects.filter(kind=MovementKind.RELEASE).exists()


# The ledger


def test_the_ledger_sums_to_the_levels():
    stock = StockItemFactory()
    stock_adjust(product_id=stock.product_id, delta=12, reason="delivery", actor=None)
    first, second = uuid.uuid4(), uuid.uuid4()
    stock_reserve(order_id=first, lines=[StockLine(product_id=stock.product_id, quantity=5)])
    stock_reserve(order_id=second, lines=[StockLine(product_id=stock.product_id, quantity=4)])
    stock_release(order_id=first, reason="cancelled")
    stock_adjust(product_id=stock.product_id, delta=-3, reason="damaged", actor=None)

    sums = Movement.objects.filter(stock_item=stock).aggregate(
        on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
    )

    assert levels(stock) == (9, 4, 5)
    assert (sums["on_hand"], sums["reserved"]) == (9, 4)
