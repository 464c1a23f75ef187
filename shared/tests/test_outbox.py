"""The transactional outbox: events commit or roll back with the change; the relay publishes them to Kafka."""

import pytest
from django.db import transaction

from shared.events import Envelope, publish
from shared.kafka import make_producer
from shared.loops import StopSignal
from shared.models import OutboxEvent
from shared.relay import OutboxRelay
from shared.testing.kafka import read_all


def ping(key: str = "k-1") -> Envelope:
    return Envelope(type="system.ping", key=key, payload={})


@pytest.mark.django_db(transaction=True)
def test_publish_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        publish(ping(), topic="users")
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_leaves_no_event():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        publish(ping(), topic="users")
        1 / 0  # noqa: B018 - the change that fails after the event was written
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_committed_event_is_published_once_and_marked_sent():
    envelope = ping(key="user-42")
    with transaction.atomic():
        publish(envelope, topic="users")

    sent, failed = OutboxRelay(StopSignal()).relay_batch()

    assert (sent, failed) == (1, 0)
    row = OutboxEvent.objects.get(event_id=envelope.id)
    assert row.sent_at is not None
    assert OutboxRelay(StopSignal()).relay_batch() == (0, 0)  # nothing left to send
    # The whole topic up to its end, so a second copy of the event would be counted too.
    matching = [event for event in read_all("users") if event.id == envelope.id]
    assert len(matching) == 1
    assert matching[0].key == "user-42"
    assert matching[0].payload == {}
    assert matching[0].source == "order"


@pytest.mark.django_db(transaction=True)
def test_relay_keeps_events_pending_while_kafka_is_unreachable():
    with transaction.atomic():
        publish(ping(), topic="users")
    relay = OutboxRelay(StopSignal(), flush_timeout=1.0)
    relay.producer = make_producer(**{"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 500})

    assert relay.relay_batch() == (0, 1)

    row = OutboxEvent.objects.get()
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.last_error
