"""Reading events back from the real broker in Django tests."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from django.conf import settings

from shared.events import Envelope
from shared.kafka import topic_name


def read_all(topic: str, *, timeout: float = 30.0) -> list[Envelope]:
    """Every event in ``topic`` up to its end as of this call (each partition's high watermark), read
    from the start by a throwaway consumer that commits nothing.

    It never stops at the first match, so "published exactly once" checks can count every copy.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"test-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    events: list[Envelope] = []
    try:
        name = topic_name(topic)
        ends: dict[int, int] = {}
        for partition in consumer.list_topics(name, timeout=timeout).topics[name].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(name, partition), timeout=timeout)
            if high > low:
                ends[partition] = high
        consumer.assign([TopicPartition(name, partition, OFFSET_BEGINNING) for partition in ends])
        deadline = time.monotonic() + timeout
        while ends:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out reading {topic} to its end; partitions left: {sorted(ends)}")
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            events.append(Envelope.from_json(message.value()))
            partition, offset = message.partition(), message.offset()
            if partition is not None and offset is not None and offset + 1 >= ends.get(partition, 0):
                ends.pop(partition)
    finally:
        consumer.close()
    return events
