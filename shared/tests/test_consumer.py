"""The consumer applies each event once in effect and records it in the inbox."""

import threading
import uuid
from dataclasses import dataclass

import pytest

from shared.consumer import EventConsumer
from shared.events import Envelope, handles
from shared.kafka import make_consumer, make_producer, topic_name
from shared.loops import StopSignal
from shared.models import ProcessedEvent
from shared.testing import wait_until

applied: list[str] = []


@handles("test.counted")
def _count(envelope: Envelope) -> None:
    applied.append(envelope.id)


@handles("test.failing")
def _fail(envelope: Envelope) -> None:
    ProcessedEvent.objects.create(
        event_id="00000000-0000-0000-0000-000000000001", event_type="x", topic="t", partition=0, offset=0
    )
    raise RuntimeError("handler bug")


@dataclass
class FakeMessage:
    """A message as confluent-kafka hands it over (unit level: no broker needed to test dispatch)."""

    payload: bytes | None
    topic_: str = "users"
    partition_: int = 2
    offset_: int = 7

    def value(self) -> bytes | None:
        return self.payload

    def topic(self) -> str:
        return self.topic_

    def partition(self) -> int:
        return self.partition_

    def offset(self) -> int:
        return self.offset_


@pytest.fixture
def consumer():
    applied.clear()
    return EventConsumer(["users"], StopSignal(), consumer=object())  # type: ignore[arg-type]


@pytest.mark.django_db(transaction=True)
def test_event_is_applied_and_recorded(consumer):
    envelope = Envelope(type="test.counted", key="k", payload={})
    consumer.handle(FakeMessage(envelope.to_json()))
    assert applied == [envelope.id]
    record = ProcessedEvent.objects.get(event_id=envelope.id)
    assert (record.topic, record.partition, record.offset) == ("users", 2, 7)


@pytest.mark.django_db(transaction=True)
def test_redelivered_event_is_applied_once(consumer):
    envelope = Envelope(type="test.counted", key="k", payload={})
    consumer.handle(FakeMessage(envelope.to_json()))
    consumer.handle(FakeMessage(envelope.to_json(), offset_=8))
    assert applied == [envelope.id]
    assert ProcessedEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_unknown_event_type_is_skipped_and_not_recorded(consumer):
    consumer.handle(FakeMessage(Envelope(type="test.never-registered", key="k", payload={}).to_json()))
    assert ProcessedEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_garbage_message_is_skipped(consumer):
    consumer.handle(FakeMessage(b"not json"))
    consumer.handle(FakeMessage(None))
    assert ProcessedEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_failing_handler_rolls_back_its_changes_and_the_inbox_row(consumer):
    envelope = Envelope(type="test.failing", key="k", payload={})
    with pytest.raises(RuntimeError, match="handler bug"):
        consumer.handle(FakeMessage(envelope.to_json()))
    assert ProcessedEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_consumer_loop_applies_events_from_kafka_and_commits(settings):
    applied.clear()
    envelope = Envelope(type="test.counted", key="order-1", payload={})
    producer = make_producer()
    producer.produce(topic_name("users"), key=b"order-1", value=envelope.to_json())
    assert producer.flush(10) == 0
    stop = StopSignal()
    loop = EventConsumer(["users"], stop, consumer=make_consumer(**{"group.id": f"test-{uuid.uuid4().hex}"}))
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        wait_until(lambda: ProcessedEvent.objects.filter(event_id=envelope.id).exists(), what="the event applied")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert applied.count(envelope.id) == 1
