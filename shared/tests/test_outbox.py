"""The transactional outbox: events commit or roll back with the change; the relay publishes them to Kafka."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from shared import metrics
from shared.events import Envelope, publish
from shared.kafka import make_producer
from shared.loops import StopSignal
from shared.models import OutboxEvent
from shared.relay import OutboxRelay
from shared.testing import wait_until
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


@pytest.mark.django_db(transaction=True)
def test_one_relay_cycle_publishes_a_batch_with_five_statements_whatever_its_size():
    with transaction.atomic():
        envelopes = [ping(key=f"user-{n}") for n in range(3)]
        for envelope in envelopes:
            publish(envelope, topic="users")
    published = metrics.EVENTS_PUBLISHED.labels("system.ping")
    before = published._value.get()

    with CaptureQueriesContext(connection) as queries:
        assert OutboxRelay(StopSignal()).relay_batch() == (3, 0)

    # BEGIN, the lanes locked, the rows, one UPDATE marking all three sent, COMMIT.
    assert [query["sql"].split()[0] for query in queries.captured_queries] == [
        "BEGIN",
        "SELECT",
        "SELECT",
        "UPDATE",
        "COMMIT",
    ]
    assert published._value.get() == before + 3
    sent = {event.id: event for event in read_all("users") if event.id in {e.id for e in envelopes}}
    assert [sent[envelope.id].key for envelope in envelopes] == ["user-0", "user-1", "user-2"]


@pytest.mark.django_db(transaction=True)
def test_a_woken_relay_drops_the_notifications_of_rows_it_is_about_to_read():
    relay = OutboxRelay(StopSignal())
    listener = relay._listen()
    try:
        for n in range(3):
            with transaction.atomic():
                publish(ping(key=f"user-{n}"), topic="users")
        drained = 0

        def drain() -> bool:
            nonlocal drained
            drained += relay._drain_notifications(listener)
            return drained == 3

        wait_until(drain, what="the three commits' notifications dropped")
        assert relay.relay_batch() == (3, 0)
        assert list(listener.notifies(timeout=0.2)) == []  # nothing wakes a second, empty cycle
    finally:
        listener.close()
