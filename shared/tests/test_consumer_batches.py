"""A poll's messages applied in one transaction: still once each, in order, a failing event held apart."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from unittest import mock

import pytest
from confluent_kafka import TopicPartition
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared import metrics
from shared.consumer import EventConsumer, Outcome
from shared.events import Envelope, EventHandlers
from shared.kafka import consumer_group
from shared.logs import request_id_var
from shared.loops import StopSignal
from shared.models import DeadLetter, ProcessedEvent
from shared.tests.conftest import effect_rows
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


def test_an_event_failing_every_attempt_is_dead_lettered_and_the_events_after_it_applied(loop, isolated_topics):
    assert loop._ensure_dead_letter_topic()
    product, order_id = str(uuid.uuid4()), str(uuid.uuid4())
    failures[order_id] = 10**6
    broken = released(order_id)

    loop.handle_batch(messages(stock_changed(product, 1), broken, stock_changed(product, 2)))

    assert effect_seqs() == [1, 2]
    letter = DeadLetter.objects.get()
    assert (str(letter.event_id), letter.kind, letter.attempts) == (broken.id, "handler_failed", 3)
    assert not ProcessedEvent.objects.filter(event_id=broken.id).exists()
    assert committed_offsets(loop) == [1, 2, 3]


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
