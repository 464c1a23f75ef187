"""Applying one event: the handler's effect and the inbox record commit together, once."""

import uuid

import pytest

from shared.consumer import Outcome, apply_event
from shared.events import Envelope
from shared.models import ProcessedEvent
from shared.tests.conftest import effect_rows
from shared.tests.effects import flaky_failures, released, stock_changed

pytestmark = pytest.mark.django_db(transaction=True)


def apply(envelope: Envelope, offset: int = 7) -> Outcome:
    return apply_event(envelope, topic="inventory", partition=2, offset=offset)


def test_event_is_applied_and_recorded_with_its_position(effects):
    event = stock_changed(str(uuid.uuid4()), 3)
    assert apply(event) is Outcome.APPLIED
    assert effect_rows() == [(event.id, event.key, 3)]
    record = ProcessedEvent.objects.get(event_id=event.id)
    assert (record.event_type, record.topic, record.partition, record.offset) == (
        "inventory.changed",
        "inventory",
        2,
        7,
    )


def test_redelivered_event_has_no_second_effect(effects):
    event = stock_changed(str(uuid.uuid4()), 1)
    assert apply(event) is Outcome.APPLIED
    assert apply(event, offset=8) is Outcome.DUPLICATE
    assert len(effect_rows()) == 1
    assert ProcessedEvent.objects.count() == 1


def test_event_without_a_handler_here_is_skipped_and_not_recorded():
    event = Envelope(type="product.deleted", key="p", payload={"product_id": str(uuid.uuid4()), "sku": "X"})
    assert apply(event) is Outcome.SKIPPED
    assert ProcessedEvent.objects.count() == 0


def test_failing_handler_leaves_neither_effect_nor_inbox_record(effects):
    order_id = str(uuid.uuid4())
    flaky_failures[order_id] = 1
    with pytest.raises(RuntimeError, match="transient failure"):
        apply(released(order_id))
    assert ProcessedEvent.objects.count() == 0
    assert apply(released(order_id)) is Outcome.APPLIED
