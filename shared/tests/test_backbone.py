"""The event backbone against the real broker and database: schemas, ordering, retries, dead letters, replay."""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection, transaction

from shared import metrics
from shared.consumer import EventConsumer, dlq_topic
from shared.events import OUTBOX_CHANNEL, Envelope, InvalidEnvelope, publish
from shared.kafka import consumer_group, make_producer, topic_name
from shared.loops import StopSignal
from shared.models import DeadLetter, OutboxEvent, ProcessedEvent
from shared.relay import OutboxRelay
from shared.testing import FailingFirst, wait_until
from shared.tests import effects
from shared.tests.conftest import database_url, effect_rows
from shared.tests.effects import flaky_failures, released

pytestmark = pytest.mark.django_db(transaction=True)


def produce_raw(topic: str, value: bytes, key: bytes = b"k", headers: dict[str, str] | None = None) -> None:
    producer = make_producer()
    producer.produce(topic_name(topic), key=key, value=value, headers=headers or {})
    assert producer.flush(10) == 0


@contextmanager
def running_consumer(topics: list[str], **options: object) -> Iterator[EventConsumer]:
    stop = StopSignal()
    loop = EventConsumer(topics, stop, **options)  # type: ignore[arg-type]
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        yield loop
    finally:
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the consumer did not stop"


def read_dead_letters(count: int) -> list[tuple[dict[str, str], bytes]]:
    reader = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    reader.subscribe([dlq_topic()])
    letters: list[tuple[dict[str, str], bytes]] = []
    try:
        wait_until(lambda: _poll_into(reader, letters) >= count, timeout=30, interval=0, what="dead letters")
    finally:
        reader.close()
    return letters


def _poll_into(reader: Consumer, letters: list[tuple[dict[str, str], bytes]]) -> int:
    message = reader.poll(0.5)
    if message is not None and not message.error():
        letters.append(({k: v.decode() for k, v in message.headers() or []}, message.value()))
    return len(letters)


# Publishing --------------------------------------------------------------------------------------------------


def test_publish_refuses_a_payload_that_breaks_its_schema():
    bad = Envelope(type="product.created", key="p-1", payload={"product_id": "not-a-uuid"})
    with pytest.raises(InvalidEnvelope, match=r"product\.created v1"), transaction.atomic():
        publish(bad)
    assert OutboxEvent.objects.count() == 0


def test_publish_refuses_an_unregistered_type():
    with pytest.raises(InvalidEnvelope, match=r"no schema for order\.teleported"), transaction.atomic():
        publish(Envelope(type="order.teleported", key="o-1", payload={}))


def test_publish_puts_the_event_on_its_registered_topic():
    with transaction.atomic():
        row = publish(effects.stock_changed(str(uuid.uuid4()), 1))
    assert row.topic == "inventory"


def test_commit_wakes_the_relay_and_rollback_does_not():
    listener = psycopg.connect(database_url(), autocommit=True)
    listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
    try:
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            publish(effects.stock_changed(str(uuid.uuid4()), 1))
            1 / 0  # noqa: B018
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
        with transaction.atomic():
            publish(effects.stock_changed(str(uuid.uuid4()), 1))
        assert len(list(listener.notifies(timeout=5, stop_after=1))) == 1
    finally:
        listener.close()


# Ordering ----------------------------------------------------------------------------------------------------


def test_two_relays_keep_each_keys_order_across_partitions(isolated_topics):
    products = [str(uuid.uuid4()) for _ in range(12)]
    with transaction.atomic():
        for seq in range(1, 41):
            for product in products:
                publish(effects.stock_changed(product, seq))
    total = len(products) * 40

    def drain(relay: OutboxRelay) -> None:
        try:
            while OutboxEvent.objects.filter(sent_at__isnull=True).exists():
                relay.relay_batch()
        finally:
            connection.close()

    relays = [OutboxRelay(StopSignal(), batch_size=25) for _ in range(2)]
    threads = [threading.Thread(target=drain, args=(relay,)) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 0

    reader = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    reader.subscribe([topic_name("inventory")])
    seen: dict[str, list[int]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    received = 0

    def read_one() -> bool:
        nonlocal received
        message = reader.poll(0.5)
        if message is not None and not message.error():
            event = Envelope.from_json(message.value())
            seen[event.key].append(event.payload["stock_version"])
            partitions[event.key].add(message.partition())
            received += 1
        return received >= total

    try:
        wait_until(read_one, timeout=60, interval=0, what="every event read back")
    finally:
        reader.close()
    assert all(seen[product] == list(range(1, 41)) for product in products), "a key's events were reordered"
    assert all(len(partitions[product]) == 1 for product in products), "one key must stay on one partition"
    assert len(set().union(*partitions.values())) > 1, "the keys should spread over several partitions"


# Consuming: retries, dead letters, replay ----------------------------------------------------------------------


def test_poison_message_goes_to_the_dlq_at_once_with_the_reason(isolated_topics, effects):
    bad = Envelope(type="inventory.changed", key="p-1", payload={"product_id": "nope"})
    produce_raw("inventory", bad.to_json(), headers={"event_type": "inventory.changed"})
    dead_lettered = metrics.EVENTS_DEAD_LETTERED.labels("inventory.changed", f"{isolated_topics}order-svc", "invalid")
    before = dead_lettered._value.get()
    with running_consumer(["inventory"]):
        ((headers, value),) = read_dead_letters(1)
    assert headers["attempts"] == "1"
    assert headers["original_topic"] == topic_name("inventory")
    assert headers["event_type"] == "inventory.changed"
    assert headers["error"] == "inventory.changed v1: payload: 'available' is a required property"
    assert value == bad.to_json()
    assert effect_rows() == []
    assert ProcessedEvent.objects.count() == 0
    assert dead_lettered._value.get() == before + 1
    letter = wait_until(DeadLetter.objects.first, what="the dead letter's row")
    assert (letter.dlq_topic, letter.dlq_partition, letter.dlq_offset) == (dlq_topic(), 0, 0)
    assert (letter.original_topic, letter.original_offset) == (topic_name("inventory"), 0)
    assert (str(letter.event_id), letter.event_type, letter.key) == (bad.id, "inventory.changed", "p-1")
    assert (letter.kind, letter.attempts, letter.group) == ("invalid", 1, f"{isolated_topics}order-svc")
    assert letter.reason == "inventory.changed v1: payload: 'available' is a required property"
    assert letter.value == bad.to_json().decode()
    assert (letter.replayed_at, letter.replay_outcome) == (None, "")


def test_garbage_bytes_go_to_the_dlq(isolated_topics):
    produce_raw("inventory", b"\x00\x01 not json")
    with running_consumer(["inventory"]):
        ((headers, value),) = read_dead_letters(1)
    assert headers["error"].startswith("not an event envelope")
    assert value == b"\x00\x01 not json"
    letter = wait_until(DeadLetter.objects.first, what="the dead letter's row")
    assert (letter.event_id, letter.event_type, letter.key, letter.kind) == (None, "", "k", "invalid")
    assert letter.value == "\ufffd\x01 not json"  # Postgres text cannot hold NUL


def test_undecodable_bytes_are_recorded_with_replacement_characters(isolated_topics):
    produce_raw("inventory", b"caf\xe9 {")
    with running_consumer(["inventory"]):
        letter = wait_until(DeadLetter.objects.first, what="the dead letter's row")
    assert letter.value == "caf\ufffd {"


def test_transient_handler_failures_are_retried_then_applied_once(isolated_topics):
    order_id = str(uuid.uuid4())
    flaky_failures[order_id] = 2
    event = released(order_id)
    produce_raw("inventory", event.to_json())
    with running_consumer(["inventory"], max_attempts=5, backoff_seconds=0.01):
        wait_until(lambda: ProcessedEvent.objects.filter(event_id=event.id).exists(), what="the retried event")
    assert flaky_failures[order_id] == 0


def test_a_database_outage_is_waited_out_without_counting_as_handler_attempts(isolated_topics):
    """Four outage retries, then one handler failure, with max_attempts=2: applied, not dead-lettered."""
    from shared import consumer

    flaky_apply = FailingFirst(
        consumer.apply_event, [OperationalError("server closed the connection")] * 4 + [RuntimeError("one bad moment")]
    )
    event = released(str(uuid.uuid4()))
    produce_raw("inventory", event.to_json())
    with (
        mock.patch.object(consumer, "apply_event", flaky_apply),
        running_consumer(["inventory"], max_attempts=2, backoff_seconds=0.001),
    ):
        wait_until(lambda: ProcessedEvent.objects.filter(event_id=event.id).exists(), what="the event applied")
    assert not DeadLetter.objects.exists()
    assert flaky_apply.calls == 6  # four outages, one handler failure, then applied


def test_handler_failing_every_attempt_is_dead_lettered_then_replayed_after_a_fix(isolated_topics, capsys):
    order_id = str(uuid.uuid4())
    flaky_failures[order_id] = 10**6  # broken until "fixed" below
    event = released(order_id)
    produce_raw("inventory", event.to_json())
    with running_consumer(["inventory"], max_attempts=3, backoff_seconds=0.01):
        ((headers, _),) = read_dead_letters(1)
    assert headers["attempts"] == "3"
    assert "handler failed after 3 attempts" in headers["error"]
    assert not ProcessedEvent.objects.filter(event_id=event.id).exists()
    letter = DeadLetter.objects.get()  # written before the consumer moved on
    assert (str(letter.event_id), letter.event_type, letter.key) == (event.id, "inventory.released", order_id)
    assert (letter.kind, letter.attempts) == ("handler_failed", 3)
    assert letter.reason == f"handler failed after 3 attempts: RuntimeError('transient failure for {order_id}')"
    assert letter.original_topic == topic_name("inventory")

    call_command("dlq", "list")
    assert "1 dead letter(s) pending" in capsys.readouterr().out
    with pytest.raises(Exception, match="still fails"):
        call_command("dlq", "replay")

    flaky_failures[order_id] = 0  # the fix is deployed
    call_command("dlq", "replay")
    assert capsys.readouterr().out.splitlines() == [
        f"#{letter.pk} inventory.released: applied",
        "replayed 1 dead letter(s)",
    ]
    assert ProcessedEvent.objects.filter(event_id=event.id).exists()
    letter.refresh_from_db()
    assert (letter.replayed_at is not None, letter.replay_outcome) == (True, "applied")
    call_command("dlq", "list")
    assert "0 dead letter(s) pending" in capsys.readouterr().out
    call_command("dlq", "replay")
    assert "replayed 0 dead letter(s)" in capsys.readouterr().out


def committed_offset(topic: str, partition: int) -> int:
    """The offset this service's consumer group committed on ``topic[partition]`` (negative: none)."""
    reader = Consumer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "group.id": consumer_group()})
    try:
        (position,) = reader.committed([TopicPartition(topic, partition)], timeout=10)
    finally:
        reader.close()
    return int(position.offset)


def database_down_while_recording_dead_letters(calls: list[int]):
    """``DeadLetter.objects.get_or_create`` raising as it does while the database is unreachable."""

    def refuse(**_: object) -> None:
        calls.append(1)
        raise OperationalError("connection refused")

    return mock.patch.object(DeadLetter.objects, "get_or_create", side_effect=refuse)


def test_dead_letter_row_waits_for_the_database_to_come_back(isolated_topics):
    produce_raw("inventory", b"not json")
    calls: list[int] = []
    real_get_or_create = DeadLetter.objects.get_or_create
    with running_consumer(["inventory"], backoff_seconds=0.01):
        with database_down_while_recording_dead_letters(calls):
            wait_until(lambda: len(calls) >= 3, what="attempts to record while the database is down")
        assert DeadLetter.objects.get_or_create == real_get_or_create  # the database is back
        letter = wait_until(DeadLetter.objects.first, what="the row once the database is back")
    assert DeadLetter.objects.count() == 1
    assert len(read_dead_letters(1)) == 1
    assert committed_offset(letter.original_topic, letter.original_partition) == letter.original_offset + 1


def test_dead_letter_not_recorded_before_a_stop_is_redelivered_not_lost(isolated_topics):
    produce_raw("inventory", b"not json")
    calls: list[int] = []
    with database_down_while_recording_dead_letters(calls), running_consumer(["inventory"], backoff_seconds=0.01):
        wait_until(lambda: calls, what="an attempt to record while the database is down")
    # Stopped while the database was down: the Kafka copy exists, the row does not, the offset is not committed.
    assert not DeadLetter.objects.exists()

    with running_consumer(["inventory"]):
        letter = wait_until(DeadLetter.objects.first, what="the redelivered message's row")
    assert letter.value == "not json"
    assert letter.dlq_offset == 1  # the second copy; the first was never recorded
    assert len(read_dead_letters(2)) == 2


def test_unknown_event_types_are_skipped_and_counted_not_dead_lettered(isolated_topics):
    group = f"{isolated_topics}order-svc"
    before = metrics.EVENTS_SKIPPED.labels("product.created", group)._value.get()
    product_id = str(uuid.uuid4())
    skipped = Envelope(
        type="product.created",
        key=product_id,
        payload={
            "product_id": product_id,
            "sku": "S-1",
            "name": "Mug",
            "price": "9.50",
            "currency": "EUR",
            "category": None,
            "is_active": True,
        },
    )
    after_it = released(str(uuid.uuid4()))
    produce_raw("inventory", skipped.to_json(), key=product_id.encode())
    produce_raw("inventory", after_it.to_json(), key=product_id.encode())
    with running_consumer(["inventory"]):
        wait_until(lambda: ProcessedEvent.objects.filter(event_id=after_it.id).exists(), what="the next event")
    assert metrics.EVENTS_SKIPPED.labels("product.created", group)._value.get() == before + 1
    assert not ProcessedEvent.objects.filter(event_id=skipped.id).exists()


def test_consumer_lag_per_partition_comes_from_the_client_statistics(isolated_topics):
    loop = EventConsumer(["inventory"], StopSignal())
    topic = topic_name("inventory")
    stats = {
        "topics": {
            topic: {"partitions": {"0": {"consumer_lag": 42}, "1": {"consumer_lag": -1}, "-1": {"consumer_lag": 7}}}
        }
    }
    loop._on_stats(json.dumps(stats))
    loop.consumer.close()
    assert metrics.CONSUMER_LAG.labels(loop.group, topic, "0")._value.get() == 42
    sampled = {
        sample.labels["partition"]
        for sample in metrics.CONSUMER_LAG.collect()[0].samples
        if sample.labels["topic"] == topic
    }
    assert sampled == {"0"}  # unknown lag (-1) and the internal partition "-1" are not reported
