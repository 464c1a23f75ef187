"""Reading events back from the real broker in Django tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer
from django.conf import settings

from shared.events import Envelope
from shared.kafka import topic_name


def read_events(topic: str, *, until: Callable[[list[Envelope]], bool], timeout: float = 30.0) -> list[Envelope]:
    """Reads ``topic`` from the start in a throwaway consumer group until ``until(events)`` holds."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"test-reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic_name(topic)])
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
    finally:
        consumer.close()
    return events
