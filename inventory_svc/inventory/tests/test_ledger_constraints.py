"""What the database itself refuses: an edited ledger, unknown states and kinds, impossible quantities."""

import uuid

import pytest
from django.db import IntegrityError

from inventory.models import Movement, MovementKind, Reservation, ReservationLine, ReservationState
from inventory.services import stock_adjust
from inventory.tests.factories import StockItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def movement() -> Movement:
    stock = StockItemFactory()
    stock_adjust(product_id=stock.product_id, delta=3, reason="delivery", actor=None)
    return Movement.objects.get()


def test_a_movement_cannot_be_changed(movement):
    with pytest.raises(IntegrityError, match="append-only"):
        Movement.objects.filter(pk=movement.pk).update(on_hand_delta=30)


def test_a_movement_cannot_be_deleted(movement):
    with pytest.raises(IntegrityError, match="append-only"):
        Movement.objects.filter(pk=movement.pk).delete()


@pytest.mark.parametrize(
    ("kind", "on_hand_delta", "reserved_delta", "order_id"),
    [
        ("restock", 1, 0, None),
        (MovementKind.ADJUSTMENT, 0, 0, None),
        (MovementKind.ADJUSTMENT, 1, 1, None),
        (MovementKind.RESERVATION, 0, 1, None),
        (MovementKind.RESERVATION, 1, 1, uuid.uuid4()),
        (MovementKind.RELEASE, 0, 1, uuid.uuid4()),
        (MovementKind.SHIPMENT, -3, -2, uuid.uuid4()),
        (MovementKind.SHIPMENT, -3, 0, uuid.uuid4()),
        (MovementKind.SHIPMENT, 0, 0, uuid.uuid4()),
        (MovementKind.SHIPMENT, 3, 3, uuid.uuid4()),
        (MovementKind.SHIPMENT, -3, -3, None),
    ],
)
def test_a_movement_must_move_the_level_its_kind_moves(kind, on_hand_delta, reserved_delta, order_id):
    stock = StockItemFactory()

    with pytest.raises(IntegrityError):
        Movement.objects.create(
            stock_item=stock, kind=kind, on_hand_delta=on_hand_delta, reserved_delta=reserved_delta, order_id=order_id
        )


def test_a_shipment_movement_takes_the_same_units_off_on_hand_and_reserved():
    stock = StockItemFactory(on_hand=5, reserved=3)

    Movement.objects.create(
        stock_item=stock, kind=MovementKind.SHIPMENT, on_hand_delta=-3, reserved_delta=-3, order_id=uuid.uuid4()
    )

    assert Movement.objects.filter(kind=MovementKind.SHIPMENT).count() == 1


def test_a_reservation_state_must_be_known():
    with pytest.raises(IntegrityError, match="reservation_state_valid"):
        Reservation.objects.create(order_id=uuid.uuid4(), state="lost")


def test_an_order_has_one_reservation():
    order_id = uuid.uuid4()
    Reservation.objects.create(order_id=order_id)

    with pytest.raises(IntegrityError):
        Reservation.objects.create(order_id=order_id, state=ReservationState.FAILED)


def test_a_reservation_line_quantity_is_positive():
    reservation = Reservation.objects.create(order_id=uuid.uuid4())

    with pytest.raises(IntegrityError, match="reservation_line_quantity_positive"):
        ReservationLine.objects.create(reservation=reservation, product_id=uuid.uuid4(), quantity=0)


def test_a_reservation_has_one_line_per_product():
    reservation = Reservation.objects.create(order_id=uuid.uuid4())
    product_id = uuid.uuid4()
    ReservationLine.objects.create(reservation=reservation, product_id=product_id, quantity=1)

    with pytest.raises(IntegrityError, match="reservation_line_product_once"):
        ReservationLine.objects.create(reservation=reservation, product_id=product_id, quantity=2)
