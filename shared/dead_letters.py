"""Reading and re-driving this service's dead-letter topic (``manage.py dlq list|replay``).

Progress is kept as the committed offsets of the group ``<group>.dlq-replay``:
``list`` shows the dead letters after that point, ``replay`` applies them in
order through the normal handler path (inbox included, so a letter applied
twice has one effect) and advances the offsets past each one that succeeded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from django.conf import settings

from shared.consumer import Outcome, apply_event, dlq_topic
from shared.events import Envelope, InvalidEnvelope
from shared.kafka import message_headers


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    headers: dict[str, str]
    value: bytes | None

    @property
    def event_type(self) -> str:
        return self.headers.get("event_type", "")

    @property
    def error(self) -> str:
        return self.headers.get("error", "")


def replay_group() -> str:
    return f"{dlq_topic()}-replay"


def _reader() -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": replay_group(),
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )


def pending_letters(consumer: Consumer | None = None, timeout: float = 10.0) -> Iterator[tuple[Consumer, DeadLetter]]:
    """Every dead letter after the replay group's committed offsets, in order per partition."""
    reader = consumer or _reader()
    try:
        yield from _read(reader)
    finally:
        if consumer is None:
            reader.close()


def _read(reader: Consumer, timeout: float = 10.0) -> Iterator[tuple[Consumer, DeadLetter]]:
    topic = dlq_topic()
    metadata = reader.list_topics(topic, timeout=timeout).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return
    partitions = [TopicPartition(topic, number) for number in metadata.partitions]
    committed = reader.committed(partitions, timeout=timeout)
    start = []
    remaining = set()
    for partition in committed:
        low, high = reader.get_watermark_offsets(partition, timeout=timeout)
        offset = partition.offset if partition.offset >= 0 else OFFSET_BEGINNING
        if (partition.offset if partition.offset >= 0 else low) < high:
            remaining.add(partition.partition)
            start.append(TopicPartition(topic, partition.partition, offset))
    if not remaining:
        return
    reader.assign(start)
    while remaining:
        message = reader.poll(timeout)
        if message is None:
            raise TimeoutError(f"no answer from Kafka reading {topic} within {timeout}s")
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:  # this partition is read to its end
                remaining.discard(message.partition() or 0)
                continue
            raise RuntimeError(str(error))
        letter = DeadLetter(message.partition() or 0, message.offset() or 0, message_headers(message), message.value())
        yield reader, letter


def replay(letter: DeadLetter) -> Outcome:
    """Applies one dead letter through the handler path; raises what the handler raises."""
    envelope = Envelope.from_json(letter.value)
    envelope.validate()
    return apply_event(
        envelope,
        topic=letter.headers.get("original_topic", ""),
        partition=int(letter.headers.get("original_partition") or 0),
        offset=int(letter.headers.get("original_offset") or 0),
    )


def mark_replayed(reader: Consumer, letter: DeadLetter) -> None:
    reader.commit(offsets=[TopicPartition(dlq_topic(), letter.partition, letter.offset + 1)], asynchronous=False)


__all__ = ["DeadLetter", "InvalidEnvelope", "mark_replayed", "pending_letters", "replay", "replay_group"]
