"""Staff adjustments of stock on hand: a movement and an event each, never below what is reserved."""

import uuid

import pytest

from inventory.errors import InvalidAdjustment, StockBelowReserved, StockItemNotFound
from inventory.models import Movement, MovementKind, StockItem
from inventory.services import MAX_LEVEL, MAX_REASON_LENGTH, stock_adjust
from inventory.tests.factories import StockItemFactory
from shared.models import OutboxEvent
from shared.testing.outbox import payloads

pytestmark = pytest.mark.django_db


def test_adjusting_adds_to_on_hand_and_returns_the_new_levels():
    stock = StockItemFactory(on_hand=4, reserved=1, stock_version=2)

    adjusted = stock_adjust(product_id=stock.product_id, delta=6, reason="delivery", actor=None)

    assert (adjusted.on_hand, adjusted.reserved, adjusted.available, adjusted.stock_version) == (10, 1, 9, 3)
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved, stock.stock_version) == (10, 1, 3)


def test_an_adjustment_writes_its_movement_with_reason_and_actor():
    stock = StockItemFactory(on_hand=4)
    staff_id = uuid.uuid4()

    stock_adjust(product_id=stock.product_id, delta=-3, reason="  damaged in transit ", actor=staff_id)

    movement = Movement.objects.get()
    assert (
        movement.stock_item_id,
        movement.kind,
        movement.on_hand_delta,
        movement.reserved_delta,
        movement.reason,
        movement.actor,
        movement.order_id,
    ) == (stock.pk, MovementKind.ADJUSTMENT, -3, 0, "damaged in transit", staff_id, None)


def test_an_adjustment_publishes_inventory_changed():
    stock = StockItemFactory(sku="KITE", on_hand=4, reserved=2, stock_version=9)

    stock_adjust(product_id=stock.product_id, delta=1, reason="found one", actor=None)

    assert payloads("inventory.changed") == [
        {
            "product_id": str(stock.product_id),
            "sku": "KITE",
            "on_hand": 5,
            "reserved": 2,
            "available": 3,
            "stock_version": 10,
        }
    ]
    assert OutboxEvent.objects.get().key == str(stock.product_id)


def test_stock_can_be_removed_down_to_what_is_reserved():
    stock = StockItemFactory(on_hand=5, reserved=2)

    adjusted = stock_adjust(product_id=stock.product_id, delta=-3, reason="count", actor=None)

    assert (adjusted.on_hand, adjusted.available) == (2, 0)


def test_removing_below_reserved_is_a_conflict_that_changes_and_records_nothing():
    stock = StockItemFactory(on_hand=5, reserved=2, stock_version=4)

    with pytest.raises(StockBelowReserved) as refused:
        stock_adjust(product_id=stock.product_id, delta=-4, reason="count", actor=None)

    assert refused.value.status == 409
    assert "at most 3 can be removed" in refused.value.detail
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved, stock.stock_version) == (5, 2, 4)
    assert Movement.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


def test_removing_more_than_on_hand_is_a_conflict():
    stock = StockItemFactory(on_hand=1)

    with pytest.raises(StockBelowReserved):
        stock_adjust(product_id=stock.product_id, delta=-2, reason="count", actor=None)

    assert StockItem.objects.get().on_hand == 1


def test_an_unknown_product_cannot_be_adjusted():
    with pytest.raises(StockItemNotFound):
        stock_adjust(product_id=uuid.uuid4(), delta=1, reason="delivery", actor=None)

    assert Movement.objects.count() == 0


@pytest.mark.parametrize(("delta", "reason", "field"), [(0, "count", "delta"), (1, "   ", "reason")])
def test_a_zero_delta_or_a_blank_reason_is_invalid(delta, reason, field):
    stock = StockItemFactory(on_hand=1)

    with pytest.raises(InvalidAdjustment) as refused:
        stock_adjust(product_id=stock.product_id, delta=delta, reason=reason, actor=None)

    assert list(refused.value.errors or {}) == [field]
    assert Movement.objects.count() == 0


def test_a_reason_longer_than_the_ledger_keeps_is_invalid_at_the_service():
    stock = StockItemFactory(on_hand=1)
    stock_adjust(product_id=stock.product_id, delta=1, reason="x" * MAX_REASON_LENGTH, actor=None)

    with pytest.raises(InvalidAdjustment) as refused:
        stock_adjust(product_id=stock.product_id, delta=1, reason="x" * (MAX_REASON_LENGTH + 1), actor=None)

    assert list(refused.value.errors or {}) == ["reason"]
    assert Movement.objects.count() == 1


def test_on_hand_cannot_grow_past_the_column_range():
    stock = StockItemFactory(on_hand=MAX_LEVEL - 1)

    with pytest.raises(InvalidAdjustment):
        stock_adjust(product_id=stock.product_id, delta=2, reason="delivery", actor=None)

    assert StockItem.objects.get().on_hand == MAX_LEVEL - 1
