import uuid

import pytest
from django.db import IntegrityError

from inventory.models import StockItem
from inventory.services import stock_item_set_low_stock_threshold
from inventory.tests.factories import StockItemFactory, product_created, product_deleted, product_updated
from shared.consumer import Outcome, apply_event
from shared.events import Envelope
from shared.models import OutboxEvent, ProcessedEvent

pytestmark = pytest.mark.django_db


def apply(envelope: Envelope, offset: int = 0) -> Outcome:
    return apply_event(envelope, topic="products", partition=0, offset=offset)


def test_product_created_creates_one_stock_row_at_zero():
    product_id = uuid.uuid4()

    outcome = apply(product_created(product_id, sku="KITE-1"))

    assert outcome is Outcome.APPLIED
    stock = StockItem.objects.get()
    assert (stock.product_id, stock.sku, stock.on_hand, stock.reserved, stock.available) == (
        product_id, "KITE-1", 0, 0, 0,
    )  # fmt: skip
    assert (stock.is_active, stock.low_stock_threshold, stock.stock_version) == (True, 5, 0)
    assert OutboxEvent.objects.count() == 0


def test_the_same_product_created_event_twice_is_a_duplicate_with_one_row():
    envelope = product_created(uuid.uuid4())
    apply(envelope, offset=0)

    outcome = apply(envelope, offset=1)

    assert outcome is Outcome.DUPLICATE
    assert StockItem.objects.count() == 1
    assert ProcessedEvent.objects.count() == 1


def test_two_product_created_events_for_one_product_leave_one_untouched_row():
    product_id = uuid.uuid4()
    apply(product_created(product_id, sku="FIRST"), offset=0)
    StockItem.objects.update(on_hand=7)

    outcome = apply(product_created(product_id, sku="SECOND"), offset=1)

    assert outcome is Outcome.APPLIED
    stock = StockItem.objects.get()
    assert (stock.sku, stock.on_hand) == ("FIRST", 7)


def test_product_deleted_marks_the_stock_row_inactive_and_keeps_its_levels():
    product_id = uuid.uuid4()
    apply(product_created(product_id), offset=0)
    StockItem.objects.update(on_hand=4, reserved=1)

    outcome = apply(product_deleted(product_id), offset=1)

    assert outcome is Outcome.APPLIED
    stock = StockItem.objects.get()
    assert (stock.is_active, stock.on_hand, stock.reserved) == (False, 4, 1)


def test_product_deleted_for_an_unknown_product_creates_it_inactive():
    product_id = uuid.uuid4()

    apply(product_deleted(product_id, sku="LATE-1"))

    stock = StockItem.objects.get()
    assert (stock.product_id, stock.sku, stock.is_active, stock.on_hand) == (product_id, "LATE-1", False, 0)


def test_product_updated_copies_sku_and_status_but_not_levels():
    product_id = uuid.uuid4()
    apply(product_created(product_id, sku="OLD"), offset=0)
    apply(product_deleted(product_id, sku="OLD"), offset=1)
    StockItem.objects.update(on_hand=3)

    apply(product_updated(product_id, sku="NEW", is_active=True), offset=2)

    stock = StockItem.objects.get()
    assert (stock.sku, stock.is_active, stock.on_hand) == ("NEW", True, 3)


def test_database_refuses_reserved_above_on_hand():
    stock = StockItemFactory(on_hand=2, reserved=2)

    with pytest.raises(IntegrityError, match="stock_reserved_within_on_hand"):
        StockItem.objects.filter(pk=stock.pk).update(reserved=3)


def test_database_refuses_negative_levels():
    stock = StockItemFactory(on_hand=2)

    with pytest.raises(IntegrityError):
        StockItem.objects.filter(pk=stock.pk).update(on_hand=-1)


def test_available_is_on_hand_minus_reserved():
    assert StockItemFactory.build(on_hand=10, reserved=3).available == 7


def test_setting_the_threshold_from_a_stale_row_keeps_levels_changed_meanwhile():
    stale = StockItemFactory(on_hand=4)
    StockItem.objects.filter(pk=stale.pk).update(on_hand=9, reserved=2)

    stock_item_set_low_stock_threshold(stock_item=stale, threshold=1)

    stock = StockItem.objects.get()
    assert (stock.low_stock_threshold, stock.on_hand, stock.reserved) == (1, 9, 2)
