"""Reading events back from the real broker in Django tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition
from django.conf import settings

from shared.events import Envelope
from shared.kafka import topic_name


def reader() -> Consumer:
    """A consumer in a throwaway group that starts at the beginning and commits nothing."""
    return Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"test-reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )


def read_all(topic: str, *, timeout: float = 30.0) -> list[Envelope]:
    """Every event in ``topic`` up to its end as of this call (each partition's high watermark).

    For "exactly once" checks: unlike :func:`read_events` with a condition, it never stops at the first match.
    """
    consumer = reader()
    name = topic_name(topic)
    ends: dict[int, int] = {}
    for partition in consumer.list_topics(name, timeout=timeout).topics[name].partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(name, partition), timeout=timeout)
        if high > low:
            ends[partition] = high
    consumer.assign([TopicPartition(name, partition, OFFSET_BEGINNING) for partition in ends])

    def reached(message: Message) -> None:
        partition, offset = message.partition(), message.offset()
        if partition is not None and offset is not None and offset + 1 >= ends.get(partition, 0):
            ends.pop(partition, None)

    return _read(consumer, topic, until=lambda _: not ends, timeout=timeout, seen=reached)


def read_events(topic: str, *, until: Callable[[list[Envelope]], bool], timeout: float = 30.0) -> list[Envelope]:
    """Reads ``topic`` from the start in a throwaway consumer group until ``until(events)`` holds."""
    consumer = reader()
    consumer.subscribe([topic_name(topic)])
    return _read(consumer, topic, until=until, timeout=timeout)


def _read(
    consumer: Consumer,
    topic: str,
    *,
    until: Callable[[list[Envelope]], bool],
    timeout: float,
    seen: Callable[[Message], None] = lambda _: None,
) -> list[Envelope]:
    """Polls ``consumer`` until ``until(events)`` holds, then closes it; ``seen`` is told of each message."""
    events: list[Envelope] = []
    deadline = time.monotonic() + timeout
    try:
        while not until(events):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out reading {topic}; got {[event.type for event in events]}")
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            events.append(Envelope.from_json(message.value()))
            seen(message)
    finally:
        consumer.close()
    return events
