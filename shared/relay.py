"""The outbox relay: publishes pending outbox rows in order and marks them sent once Kafka acknowledged.

Rows are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` so several relays
never publish the same row at the same time. When Kafka is down the rows stay
pending and the relay keeps trying; nothing is lost.
"""

from __future__ import annotations

import json
import logging

from confluent_kafka import KafkaError, Message, Producer
from django.db import close_old_connections, transaction
from django.utils import timezone

from shared.kafka import make_producer, topic_name
from shared.loops import StopSignal
from shared.models import OutboxEvent

logger = logging.getLogger(__name__)

IDLE_MIN_SECONDS = 0.05
IDLE_MAX_SECONDS = 1.0


class OutboxRelay:
    def __init__(
        self, stop: StopSignal, producer: Producer | None = None, batch_size: int = 200, flush_timeout: float = 10.0
    ) -> None:
        self.stop = stop
        # Undelivered messages expire with the flush, so a retried row is not also still queued.
        self.producer = producer or make_producer(**{"message.timeout.ms": int(flush_timeout * 1000)})
        self.batch_size = batch_size
        self.flush_timeout = flush_timeout

    def run(self) -> None:
        idle = IDLE_MIN_SECONDS
        logger.info("relaying the outbox")
        while not self.stop.is_set():
            close_old_connections()
            sent = self.relay_batch()
            if sent >= self.batch_size:
                idle = IDLE_MIN_SECONDS  # more is waiting: go again at once
                continue
            # Adaptive idle: short right after work, backing off to at most a second.
            idle = IDLE_MIN_SECONDS if sent else min(idle * 2, IDLE_MAX_SECONDS)
            self.stop.wait(idle)
        self.producer.flush(self.flush_timeout)
        logger.info("relay stopped")

    def relay_batch(self) -> int:
        """Publishes one batch; returns how many rows the broker acknowledged."""
        with transaction.atomic():
            rows = list(
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True)
                .order_by("id")[: self.batch_size]
            )
            if not rows:
                return 0
            outcome: dict[int, KafkaError | None] = {}
            for row in rows:

                def on_delivery(error: KafkaError | None, message: Message, row_id: int = row.pk) -> None:
                    outcome[row_id] = error

                self.producer.produce(
                    topic_name(row.topic),
                    key=row.key.encode(),
                    value=_envelope_bytes(row),
                    headers={"event_type": row.event_type, "event_id": str(row.event_id)},
                    on_delivery=on_delivery,
                )
            self.producer.flush(self.flush_timeout)
            now = timezone.now()
            acknowledged = [row_id for row_id, error in outcome.items() if error is None]
            OutboxEvent.objects.filter(pk__in=acknowledged).update(sent_at=now)
            failed = [row for row in rows if row.pk not in acknowledged]
            for row in failed:
                row.attempts += 1
                error = outcome.get(row.pk)
                row.last_error = str(error) if error else "no acknowledgement before the flush timeout"
                row.save(update_fields=["attempts", "last_error"])
            if failed:
                logger.warning("%d of %d events not acknowledged: %s", len(failed), len(rows), failed[0].last_error)
            return len(acknowledged)


def _envelope_bytes(row: OutboxEvent) -> bytes:
    return json.dumps(row.envelope, separators=(",", ":")).encode()
