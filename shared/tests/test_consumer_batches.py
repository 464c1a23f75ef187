"""A poll's messages applied in one transaction: still once each, in order, a failing event held apart."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from unittest import mock

import psycopg
import pytest
from confluent_kafka import TopicPartition
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from shared import metrics
from shared.consumer import EventConsumer, Outcome
from shared.events import OUTBOX_CHANNEL, Envelope, EventHandlers, publish
from shared.kafka import consumer_group
from shared.logs import request_id_var
from shared.loops import StopSignal
from shared.models import DeadLetter, OutboxEvent, ProcessedEvent
from shared.tests.conftest import database_url, effect_rows
from shared.tests.effects import record_effect, released, stock_changed

pytestmark = pytest.mark.django_db(transaction=True)

TOPIC = "inventory"


class Crash(BaseException):
    """What a process crash is to the loop: nothing catches it (as SIGKILL, nothing runs after it)."""


failures: dict[str, int] = {}  # order id -> how many more times its inventory.released handler fails
crash_on: set[str] = set()  # order ids whose inventory.released handler crashes the process

HANDLERS = EventHandlers()
HANDLERS.handles("inventory.changed")(record_effect)


@HANDLERS.handles("inventory.released")
def release_or_fail(envelope: Envelope) -> None:
    """Fails as ``failures`` says, then records its effect like ``record_effect`` (seq 0)."""
    order_id = envelope.payload["order_id"]
    if order_id in crash_on:
        raise Crash
    if failures.get(order_id, 0) > 0:
        failures[order_id] -= 1
        raise RuntimeError(f"handler failure for {order_id}")
    record_effect(Envelope(type=envelope.type, key=envelope.key, payload={"stock_version": 0}, id=envelope.id))


after_commit: list[str] = []  # event ids whose post-commit work ran, in order


def record_effect_then_after_commit(envelope: Envelope) -> None:
    """Like payment's handlers: the change, and work to do once (and only if) it commits."""
    record_effect(envelope)
    transaction.on_commit(lambda: after_commit.append(envelope.id))


def record_effect_and_publish(envelope: Envelope) -> None:
    """A saga step: the change and an event announcing it (through the outbox)."""
    record_effect(envelope)
    publish(Envelope(type="system.ping", key=envelope.key, payload={}), topic="orders")


AFTER_COMMIT = EventHandlers()
AFTER_COMMIT.handles("inventory.changed")(record_effect_then_after_commit)
AFTER_COMMIT.handles("inventory.released")(release_or_fail)

PUBLISHING = EventHandlers()
PUBLISHING.handles("inventory.changed")(record_effect_and_publish)
PUBLISHING.handles("inventory.released")(release_or_fail)


class FakeMessage:
    """A consumed message as the loop reads it (confluent_kafka's Message cannot be built by hand)."""

    def __init__(self, envelope: Envelope, offset: int, partition: int = 0) -> None:
        self._value, self._key, self._offset, self._partition = (
            envelope.to_json(),
            envelope.key.encode(),
            offset,
            partition,
        )

    def value(self) -> bytes:
        return self._value

    def key(self) -> bytes:
        return self._key

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def error(self) -> None:
        return None

    def headers(self) -> list[tuple[str, bytes]]:
        return []


def messages(*envelopes: Envelope) -> list[FakeMessage]:
    return [FakeMessage(envelope, offset) for offset, envelope in enumerate(envelopes)]


@pytest.fixture
def loop(effects) -> Iterator[EventConsumer]:
    """The consumer loop with the handlers above, a stand-in Kafka consumer and a real dead-letter producer."""
    failures.clear()
    crash_on.clear()
    after_commit.clear()
    yield EventConsumer(
        [TOPIC],
        StopSignal(),
        HANDLERS,
        consumer=mock.Mock(),
        max_attempts=3,
        backoff_seconds=0.001,
        offset_commit_seconds=0,  # every handled part's commit, to see their order
    )


def committed_offsets(loop: EventConsumer) -> list[int]:
    """The offsets the loop committed to Kafka, in order (each the next offset to read)."""
    return [
        partition.offset
        for call in loop.consumer.commit.call_args_list  # type: ignore[attr-defined]
        for partition in call.kwargs["offsets"]
    ]


def statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"].split()[0] for query in queries.captured_queries]


def effect_seqs() -> list[int]:
    return [seq for _, _, seq in effect_rows()]


def test_a_batch_is_applied_in_one_transaction_with_one_inbox_query(loop):
    product = str(uuid.uuid4())
    batch = [stock_changed(product, seq) for seq in range(1, 6)]

    with CaptureQueriesContext(connection) as queries:
        loop.handle_batch(messages(*batch))

    assert effect_seqs() == [1, 2, 3, 4, 5]
    assert ProcessedEvent.objects.count() == 5
    # Which of the five the inbox holds and their five inbox rows, once for all; then per event only the
    # handler's insert: no savepoint (SAVEPOINT and RELEASE per event were 4 statements per event, now 1).
    assert statements(queries) == ["BEGIN", "SELECT", "INSERT"] + ["INSERT"] * 5 + ["COMMIT"]
    assert ProcessedEvent.objects.filter(event_id__in=[event.id for event in batch]).count() == 5
    assert committed_offsets(loop) == [5]  # one commit for the batch, after its transaction


def test_a_lone_event_takes_one_transaction_without_savepoint_or_select(loop):
    with CaptureQueriesContext(connection) as queries:
        loop.handle_batch(messages(stock_changed(str(uuid.uuid4()), 1)))

    assert statements(queries) == ["BEGIN", "INSERT", "INSERT", "COMMIT"]  # the inbox row is the duplicate check


def test_a_duplicate_inside_a_batch_is_applied_once(loop):
    group = consumer_group()
    duplicates = metrics.EVENTS_CONSUMED.labels("inventory.changed", group, Outcome.DUPLICATE.value)
    before = duplicates._value.get()
    event = stock_changed(str(uuid.uuid4()), 1)

    with CaptureQueriesContext(connection) as queries:
        loop.handle_batch(messages(event, stock_changed(str(uuid.uuid4()), 2), event))

    assert effect_seqs() == [1, 2]
    assert duplicates._value.get() == before + 1
    assert "ROLLBACK" not in " ".join(statements(queries))  # known from the batch, not from a failed insert
    assert committed_offsets(loop) == [3]


def test_a_redelivered_batch_is_recognised_with_one_query(loop):
    batch = messages(*[stock_changed(str(uuid.uuid4()), seq) for seq in range(1, 4)])
    loop.handle_batch(batch)

    with CaptureQueriesContext(connection) as queries:
        loop.handle_batch(batch)

    assert effect_seqs() == [1, 2, 3]
    assert statements(queries) == ["BEGIN", "SELECT", "COMMIT"]


def test_a_failing_event_is_retried_alone_before_the_events_after_it(loop):
    product, order_id = str(uuid.uuid4()), str(uuid.uuid4())
    failures[order_id] = 2  # fails in the batch, then once alone, then succeeds
    batch = messages(
        stock_changed(product, 1), stock_changed(product, 2), released(order_id), stock_changed(product, 3)
    )

    loop.handle_batch(batch)

    # The two before it committed first, then it (seq 0) on its third attempt, then the one after it.
    assert effect_seqs() == [1, 2, 0, 3]
    assert committed_offsets(loop) == [2, 3, 4]
    assert ProcessedEvent.objects.count() == 4
    assert not DeadLetter.objects.exists()


def test_a_handler_failing_once_rolls_the_batch_back_and_the_events_before_it_are_replayed_once(loop):
    loop.handlers = AFTER_COMMIT
    product, order_id = str(uuid.uuid4()), str(uuid.uuid4())
    failures[order_id] = 1  # fails in the batch only
    third = released(order_id)
    batch = [stock_changed(product, 1), stock_changed(product, 2), third, stock_changed(product, 4)]
    batch.append(stock_changed(product, 5))

    with CaptureQueriesContext(connection) as queries:
        loop.handle_batch(messages(*batch))

    # 1 and 2 once each (their first application went with the rollback), 3 (seq 0) retried alone, then 4, 5.
    assert effect_seqs() == [1, 2, 0, 4, 5]
    assert sorted(event_id for event_id, _, _ in effect_rows()) == sorted(event.id for event in batch)
    assert ProcessedEvent.objects.count() == 5
    assert committed_offsets(loop) == [2, 3, 5]
    # Post-commit work only for committed events, once each: none for the rolled-back transaction.
    assert after_commit == [batch[0].id, batch[1].id, batch[3].id, batch[4].id]
    done = statements(queries)
    assert "SAVEPOINT" not in done
    assert (done.count("ROLLBACK"), done.count("COMMIT")) == (1, 3)  # the batch; the replay, 3 alone, 4 and 5


def test_a_row_a_concurrent_consumer_stores_rolls_the_batch_back_and_nothing_is_applied_twice(loop):
    """Another consumer (a rebalance's previous owner) applies the batch's second event meanwhile: the batch's
    inbox INSERT waits for its commit, fails, and the batch rolls back; then each event counts once."""
    product = str(uuid.uuid4())
    batch = [stock_changed(product, seq) for seq in (1, 2, 3)]
    other = psycopg.connect(database_url())
    other.execute(  # the other consumer's transaction: its effect and its inbox row, not committed yet
        "INSERT INTO test_effects (event_id, key, seq) VALUES (%s, %s, 2)", [batch[1].id, product]
    )
    other.execute(
        'INSERT INTO shared_processedevent (event_id, event_type, key, topic, partition, "offset", processed_at)'
        " VALUES (%s, 'inventory.changed', %s, 'inventory', 0, 1, now())",
        [batch[1].id, product],
    )
    connection.ensure_connection()
    ours = connection.connection.info.backend_pid

    def commit_once_the_batch_waits() -> None:
        with psycopg.connect(database_url(), autocommit=True) as watcher:
            for _ in range(100):
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid = %s", [ours]
                ).fetchone()
                if waiting and waiting[0]:
                    break
                time.sleep(0.05)
        other.commit()

    committer = threading.Thread(target=commit_once_the_batch_waits)
    committer.start()
    try:
        with CaptureQueriesContext(connection) as queries:
            loop.handle_batch(messages(*batch))
    finally:
        committer.join()
        other.close()

    assert statements(queries)[:4] == ["BEGIN", "SELECT", "INSERT", "ROLLBACK"]  # the inbox INSERT failed
    assert effect_seqs() == [2, 1, 3]  # the other consumer's 2, then ours: 1 alone, then 3; 2 a duplicate
    assert ProcessedEvent.objects.count() == 3
    assert committed_offsets(loop) == [1, 3]


def test_a_batch_wakes_the_relay_with_one_notify_before_its_commit(loop):
    loop.handlers = PUBLISHING
    batch = [stock_changed(str(uuid.uuid4()), seq) for seq in (1, 2, 3)]
    with psycopg.connect(database_url(), autocommit=True) as listener:
        listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
        with CaptureQueriesContext(connection) as queries:
            loop.handle_batch(messages(*batch))
        woken = list(listener.notifies(timeout=5, stop_after=1))

    assert OutboxEvent.objects.count() == 3
    assert len(woken) == 1  # lost, the relay would find the three rows only at its next poll
    done = statements(queries)
    assert done.count("NOTIFY") == 1  # one per event before
    assert done[-2:] == ["NOTIFY", "COMMIT"]


def test_a_replayed_batch_and_its_failing_event_alone_wake_the_relay(loop):
    loop.handlers = PUBLISHING
    order_id = str(uuid.uuid4())
    failures[order_id] = 1
    batch = [stock_changed(str(uuid.uuid4()), 1), released(order_id), stock_changed(str(uuid.uuid4()), 2)]
    with psycopg.connect(database_url(), autocommit=True) as listener:
        listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
        with CaptureQueriesContext(connection) as queries:
            loop.handle_batch(messages(*batch))
        woken = list(listener.notifies(timeout=1))

    assert OutboxEvent.objects.count() == 2
    # The rolled-back batch sent none; the replay of the first and the last (alone) one each.
    assert statements(queries).count("NOTIFY") == 2
    assert len(woken) == 2


def test_a_lone_event_publishing_twice_sends_one_notify(loop):
    def publish_twice(envelope: Envelope) -> None:
        record_effect_and_publish(envelope)
        record_effect_and_publish(dataclasses.replace(envelope, id=str(uuid.uuid4())))

    loop.handlers = EventHandlers()
    loop.handlers.handles("inventory.changed")(publish_twice)
    with psycopg.connect(database_url(), autocommit=True) as listener:
        listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
        with CaptureQueriesContext(connection) as queries:
            loop.handle_batch(messages(stock_changed(str(uuid.uuid4()), 1)))
        woken = list(listener.notifies(timeout=5, stop_after=1))

    assert OutboxEvent.objects.count() == 2
    assert len(woken) == 1
    assert statements(queries) == ["BEGIN", "INSERT", "INSERT", "INSERT", "INSERT", "INSERT", "NOTIFY", "COMMIT"]


def test_events_nobody_here_handles_cost_no_statement(loop, caplog):
    def unhandled() -> Envelope:
        product_id = str(uuid.uuid4())
        return Envelope(type="product.deleted", key=product_id, payload={"product_id": product_id, "sku": "X"})

    skipped = metrics.EVENTS_SKIPPED.labels("product.deleted", consumer_group())
    before = skipped._value.get()
    with CaptureQueriesContext(connection) as queries, caplog.at_level("INFO", logger="shared.consumer"):
        loop.handle_batch(messages(unhandled(), unhandled()))
    assert statements(queries) == []  # no transaction, no inbox query
    assert skipped._value.get() == before + 2
    assert not [record for record in caplog.records if "no handler" in record.getMessage()]  # DEBUG only

    with CaptureQueriesContext(connection) as queries:
        loop.handle_batch(messages(unhandled(), stock_changed(str(uuid.uuid4()), 1), unhandled()))
    assert statements(queries) == ["BEGIN", "SELECT", "INSERT", "INSERT", "COMMIT"]  # the one handled event's
    assert effect_seqs() == [1]
    assert committed_offsets(loop) == [2, 3]


def test_an_event_failing_every_attempt_is_dead_lettered_and_the_events_after_it_applied(loop, isolated_topics):
    assert loop._ensure_dead_letter_topic()
    product, order_id = str(uuid.uuid4()), str(uuid.uuid4())
    failures[order_id] = 10**6
    broken = released(order_id)

    loop.handle_batch(messages(stock_changed(product, 1), stock_changed(product, 2), broken, stock_changed(product, 3)))

    assert effect_seqs() == [1, 2, 3]  # the two before it once each, though their first transaction rolled back
    letter = DeadLetter.objects.get()
    assert (str(letter.event_id), letter.kind, letter.attempts) == (broken.id, "handler_failed", 3)
    assert not ProcessedEvent.objects.filter(event_id=broken.id).exists()
    assert ProcessedEvent.objects.count() == 3
    assert committed_offsets(loop) == [2, 3, 4]


def test_an_invalid_message_in_a_batch_is_dead_lettered_in_its_place(loop, isolated_topics):
    assert loop._ensure_dead_letter_topic()
    product = str(uuid.uuid4())
    invalid = Envelope(type="inventory.changed", key=product, payload={"product_id": "nope"})

    loop.handle_batch(messages(stock_changed(product, 1), invalid, stock_changed(product, 2)))

    assert effect_seqs() == [1, 2]
    assert DeadLetter.objects.get().kind == "invalid"
    assert committed_offsets(loop) == [1, 2, 3]


def test_a_crash_mid_batch_applies_nothing_and_the_redelivered_batch_applies_each_event_once(loop):
    product, order_id = str(uuid.uuid4()), str(uuid.uuid4())
    crash_on.add(order_id)
    batch = messages(
        stock_changed(product, 1), stock_changed(product, 2), released(order_id), stock_changed(product, 3)
    )

    with pytest.raises(Crash):
        loop.handle_batch(batch)

    assert effect_rows() == []
    assert ProcessedEvent.objects.count() == 0
    assert committed_offsets(loop) == []  # so Kafka redelivers the whole batch

    crash_on.clear()
    loop.handle_batch(batch)  # the redelivery, the first events again included
    loop.handle_batch(batch)  # and once more, as if the offsets' commit had been lost too

    assert effect_seqs() == [1, 2, 0, 3]
    assert ProcessedEvent.objects.count() == 4


def test_a_batch_past_its_time_is_committed_and_the_rest_go_in_the_next_transaction(loop):
    loop.batch_max_seconds = 0  # every event finds its batch's time up: one transaction each
    product = str(uuid.uuid4())

    with CaptureQueriesContext(connection) as queries:
        loop.handle_batch(messages(*[stock_changed(product, seq) for seq in range(1, 4)]))

    assert effect_seqs() == [1, 2, 3]
    assert statements(queries).count("COMMIT") == 3
    assert committed_offsets(loop) == [1, 2, 3]


def test_messages_of_a_partition_revoked_while_gathering_are_left_to_its_next_owner(loop):
    first, second, other = (
        FakeMessage(stock_changed(str(uuid.uuid4()), 1), 0, partition=0),
        FakeMessage(stock_changed(str(uuid.uuid4()), 1), 1, partition=0),
        FakeMessage(stock_changed(str(uuid.uuid4()), 1), 0, partition=1),
    )
    kafka = loop.consumer
    kafka.poll.return_value = first

    def consume_during_a_rebalance(**_: object) -> list[FakeMessage]:
        loop._on_revoke(kafka, [TopicPartition(TOPIC, 0)])
        return [second, other]

    kafka.consume.side_effect = consume_during_a_rebalance
    kafka.assignment.return_value = [TopicPartition(TOPIC, 1)]

    assert loop._next_batch() == [other]


def test_offsets_go_to_kafka_at_most_once_per_interval_and_all_of_them_at_a_rebalance(effects):
    loop = EventConsumer([TOPIC], StopSignal(), HANDLERS, consumer=mock.Mock(), offset_commit_seconds=3600)
    product = str(uuid.uuid4())
    loop.handle_batch(messages(stock_changed(product, 1), stock_changed(product, 2)))
    loop.handle_batch([FakeMessage(stock_changed(product, 3), offset=2)])
    loop.handle_batch([FakeMessage(stock_changed(product, 4), offset=3)])

    assert effect_seqs() == [1, 2, 3, 4]
    assert committed_offsets(loop) == [2]  # the first batch's; the next two wait for the interval

    loop._on_revoke(loop.consumer, [TopicPartition(TOPIC, 0)])
    assert committed_offsets(loop) == [2, 4]  # everything handled, before the partition moves on
    loop._commit_offsets_if_due()
    loop._commit_processed()
    assert committed_offsets(loop) == [2, 4]  # and never again from here: its next owner commits it now


def test_a_batch_logs_each_applied_event_under_the_request_id_it_carries(loop, monkeypatch):
    """The trace of a request across processes rests on it (tests/test_tracing.py): a batch's events are
    logged after the batch commits, and each line must still carry its own event's request id."""
    logged: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "shared.consumer.logger.info", lambda text, *args: logged.append((text % args, request_id_var.get()))
    )
    product = str(uuid.uuid4())
    batch = [dataclasses.replace(stock_changed(product, seq), request_id=f"request-{seq}") for seq in (1, 2)]

    loop.handle_batch(messages(*batch))

    assert [request_id for text, request_id in logged if text.startswith("applied ")] == ["request-1", "request-2"]
