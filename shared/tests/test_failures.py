"""Crashes and outages with real processes, the real broker and the real database: nothing lost, nothing twice.

Each test drives the production loops (``manage.py relay_outbox``, the consumer
loop) as separate processes and kills them with SIGKILL, or stops Kafka itself,
then checks every event's effect happened exactly once (``test_effects`` holds
one row per application; the handler is deliberately not idempotent).
"""

from __future__ import annotations

import collections
import os
import signal
import threading
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from django.db import transaction

from ops.kafka import LocalBroker
from shared.consumer import EventConsumer
from shared.events import publish
from shared.kafka import ensure_topics
from shared.loops import StopSignal
from shared.models import OutboxEvent, ProcessedEvent
from shared.testing import wait_until
from shared.tests.conftest import effect_rows, free_port_pair, start_process
from shared.tests.effects import stock_changed
from shared.topology import TOPIC_PARTITIONS, TOPICS

pytestmark = pytest.mark.django_db(transaction=True)


def write_events(count: int, keys: int = 20) -> list[str]:
    products = [str(uuid.uuid4()) for _ in range(keys)]
    ids = []
    with transaction.atomic():
        for seq in range(count):
            ids.append(publish(stock_changed(products[seq % keys], seq // keys + 1)).event_id)
    return [str(event_id) for event_id in ids]


def consume_until_applied(expected: int, timeout: float = 120) -> None:
    stop = StopSignal()
    thread = threading.Thread(target=EventConsumer(["inventory"], stop).run)
    thread.start()
    try:
        wait_until(
            lambda: ProcessedEvent.objects.count() >= expected,
            timeout=timeout,
            interval=0.2,
            what=f"{expected} events applied",
        )
    finally:
        stop.set()
        thread.join(timeout=60)


def assert_each_applied_once(event_ids: list[str]) -> None:
    applied = collections.Counter(event_id for event_id, _, _ in effect_rows())
    assert sorted(applied) == sorted(event_ids), "some events were lost"
    assert max(applied.values()) == 1, "some events were applied twice"


def stop(process) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_relay_killed_mid_batch_loses_nothing_and_duplicates_have_no_effect(isolated_topics, effects, tmp_path):
    event_ids = write_events(3000)
    relay = start_process(["manage.py", "relay_outbox", "--batch-size", "200"], tmp_path / "relay.log")
    try:
        wait_until(
            lambda: OutboxEvent.objects.filter(sent_at__isnull=False).exists(),
            timeout=60,
            what="the relay to publish something",
        )
    finally:
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
    pending_after_kill = OutboxEvent.objects.filter(sent_at__isnull=True).count()
    assert 0 < pending_after_kill < 3000, "kill the relay mid-way, not before or after"

    restarted = start_process(["manage.py", "relay_outbox"], tmp_path / "relay2.log")
    try:
        wait_until(
            lambda: not OutboxEvent.objects.filter(sent_at__isnull=True).exists(),
            timeout=120,
            what="the backlog to drain",
        )
    finally:
        stop(restarted)
    consume_until_applied(3000)
    assert_each_applied_once(event_ids)


def test_consumer_killed_mid_handler_applies_each_event_exactly_once(isolated_topics, effects, tmp_path):
    event_ids = write_events(300)
    relay = start_process(["manage.py", "relay_outbox"], tmp_path / "relay.log")
    worker_args = ["-m", "shared.tests.consumer_worker"]
    try:
        # 20 ms inside each handler's transaction: a kill lands mid-handler almost every time.
        worker = start_process(worker_args, tmp_path / "worker.log", EFFECT_DELAY="0.02")
        try:
            wait_until(lambda: ProcessedEvent.objects.count() >= 50, timeout=120, what="50 events applied")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        applied_before_restart = ProcessedEvent.objects.count()
        assert applied_before_restart < 300
        worker = start_process(worker_args, tmp_path / "worker2.log")
        try:
            wait_until(lambda: ProcessedEvent.objects.count() == 300, timeout=120, what="all 300 applied")
        finally:
            stop(worker)
    finally:
        stop(relay)
    assert_each_applied_once(event_ids)


@pytest.fixture
def private_broker(tmp_path, settings):
    """A Kafka broker of this test's own, so it can be stopped and restarted without disturbing others."""
    broker = LocalBroker(free_port_pair(), tmp_path / "kafka", tmp_path / "kafka.log", tmp_path / "kafka.pid")
    broker.start()
    settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap
    ensure_topics(
        AdminClient({"bootstrap.servers": broker.bootstrap}),
        [settings.KAFKA_TOPIC_PREFIX + topic for topic in TOPICS],
        partitions=TOPIC_PARTITIONS,
    )
    yield broker
    broker.stop()


def test_kafka_down_while_events_are_written_then_back_loses_nothing(effects, private_broker, tmp_path, settings):
    relay = start_process(["manage.py", "relay_outbox"], tmp_path / "relay.log")
    try:
        warmup = write_events(10, keys=5)
        wait_until(
            lambda: not OutboxEvent.objects.filter(sent_at__isnull=True).exists(),
            timeout=60,
            what="the relay to be publishing",
        )
        private_broker.stop()

        during_outage = write_events(200)
        wait_until(
            lambda: OutboxEvent.objects.filter(attempts__gt=0).exists(),
            timeout=60,
            what="the relay to try while Kafka is down",
        )
        assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 200  # the backlog grows, nothing lost
        assert os.kill(relay.pid, 0) is None  # the relay is still running

        private_broker.start()
        wait_until(
            lambda: not OutboxEvent.objects.filter(sent_at__isnull=True).exists(),
            timeout=120,
            what="the backlog to drain after Kafka is back",
        )
    finally:
        stop(relay)
    consume_until_applied(210)
    assert_each_applied_once(warmup + during_outage)
    assert Path(tmp_path / "relay.log").read_text().count("not acknowledged") >= 1
