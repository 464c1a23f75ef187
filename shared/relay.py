"""The outbox relay: publishes pending outbox rows in order per key; marks them sent once Kafka acknowledged.

Ordering: rows carry a lane (a hash of the key). A relay publishes a lane only
while it holds that lane's transaction-scoped advisory lock, so several relays
share the work without ever interleaving one key's events. Within a lane, rows
go out in insertion order through an idempotent producer.

Latency: publishing transactions ``NOTIFY`` on commit, and an idle relay waits
on ``LISTEN`` (at most a second, in case a notification was missed) instead of
sleeping. Woken, it gathers commits for ``GATHER_SECONDS`` more, so events
committed a few milliseconds apart share one cycle (lane locks, select, one
flush waiting for Kafka's acknowledgements, one update) instead of one each.

Failure: when Kafka is down, rows stay pending (attempts and the last error
are recorded) and the relay keeps trying; nothing is lost.
"""

from __future__ import annotations

import enum
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypedDict

import psycopg
from confluent_kafka import KafkaError, Message, Producer
from django.conf import settings
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.db import close_old_connections, connection, transaction
from django.db.models import Min, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django_stubs_ext import WithAnnotations

from shared import metrics
from shared.event_types import EVENT_TYPES
from shared.events import LANES, OUTBOX_CHANNEL, wake_relay
from shared.kafka import make_producer, topic_name
from shared.loops import StopSignal
from shared.models import OutboxEvent, ProcessedEvent

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 7_300_001  # first key of pg_try_advisory_xact_lock(namespace, lane)
IDLE_WAIT_SECONDS = 1.0
# After a wake-up, how long to wait for more commits before publishing: the latency an event may gain
# (at most this), against a cycle of five database round trips and a Kafka round trip per event.
GATHER_SECONDS = 0.005
GAUGE_INTERVAL_SECONDS = 5.0
PRUNE_INTERVAL_SECONDS = 3600.0


class _EnvelopeText(TypedDict):
    envelope_text: str


class OutboxRelay:
    def __init__(
        self, stop: StopSignal, producer: Producer | None = None, batch_size: int = 500, flush_timeout: float = 10.0
    ) -> None:
        self.stop = stop
        # Undelivered messages expire with the flush, so a row that is retried is not also still queued.
        self.producer = producer or make_producer(**{"message.timeout.ms": int(flush_timeout * 1000)})
        self.batch_size = batch_size
        self.flush_timeout = flush_timeout

    def run(self) -> None:
        logger.info("relaying the outbox")
        initialise_metrics()
        listener: psycopg.Connection[tuple[object, ...]] | None = None
        next_gauges = next_prune = 0.0
        failures = outage = 0
        try:
            while not self.stop.is_set():
                try:
                    close_old_connections()
                    listener = listener or self._listen()
                    now = time.monotonic()
                    if now >= next_gauges:
                        update_gauges()
                        next_gauges = now + GAUGE_INTERVAL_SECONDS
                    if now >= next_prune:
                        prune(older_than=timedelta(hours=settings.OUTBOX_RETENTION_HOURS))
                        next_prune = now + PRUNE_INTERVAL_SECONDS
                    # Notifications of rows this cycle will see anyway are dropped first, so they do not
                    # wake a second, empty cycle; a row committed after this notifies again.
                    self._drain_notifications(listener)
                    sent, failed = self.relay_batch()
                    outage = 0
                    if failed:
                        # Kafka is refusing: back off (up to 10 s) instead of hammering it.
                        failures += 1
                        self.stop.wait(min(10.0, 0.5 * 2**failures))
                        continue
                    failures = 0
                    if sent >= self.batch_size:
                        continue  # more is waiting: go again at once
                    self._wait_for_work(listener, IDLE_WAIT_SECONDS)
                except (DatabaseOperationalError, DatabaseInterfaceError, psycopg.OperationalError) as exc:
                    # The database restarts or is unreachable: wait for it (up to 10 s between tries)
                    # rather than exit; nothing is lost, the rows wait in the outbox.
                    outage += 1
                    logger.warning("database unavailable to the relay; retrying: %s", exc)
                    if listener is not None:
                        listener.close()
                        listener = None
                    close_old_connections()
                    self.stop.wait(min(10.0, 0.25 * 2**outage))
        finally:
            self.producer.flush(self.flush_timeout)
            if listener is not None:
                listener.close()
            logger.info("relay stopped")

    def _listen(self) -> psycopg.Connection[tuple[object, ...]]:
        db = settings.DATABASES["default"]
        listener = psycopg.connect(
            dbname=db["NAME"],
            user=db["USER"],
            password=db["PASSWORD"],
            host=db["HOST"],
            port=db["PORT"] or None,
            autocommit=True,
            connect_timeout=10,
        )
        listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
        return listener

    def _wait_for_work(self, listener: psycopg.Connection[tuple[object, ...]], timeout: float) -> None:
        """Returns ``GATHER_SECONDS`` after a publishing transaction commits, after ``timeout``, or soon after
        a stop request."""
        deadline = time.monotonic() + timeout
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            # Short slices keep SIGTERM responsive; any notification means work.
            for _ in listener.notifies(timeout=min(remaining, 0.25), stop_after=1):
                self.stop.wait(GATHER_SECONDS)
                return

    def _drain_notifications(self, listener: psycopg.Connection[tuple[object, ...]]) -> int:
        """Drops the notifications received so far; returns how many."""
        return sum(1 for _ in listener.notifies(timeout=0))

    def relay_batch(self) -> tuple[int, int]:
        """Publishes one batch from the lanes this relay could lock; returns (acknowledged, failed)."""
        with transaction.atomic():
            lanes = self._lock_lanes()
            if not lanes:
                return 0, 0
            rows: list[WithAnnotations[OutboxEvent, _EnvelopeText]] = list(
                OutboxEvent.objects.filter(sent_at__isnull=True, lane__in=lanes)
                .order_by("id")
                # The envelope as Postgres prints it: no json.loads and json.dumps per row.
                .defer("envelope")
                .annotate(envelope_text=Cast("envelope", TextField()))[: self.batch_size]
            )
            outcome: dict[int, KafkaError | None] = {}
            for row in rows:
                self._produce(row, outcome)
            self.producer.flush(self.flush_timeout)
            acknowledged = [row for row in rows if row.pk in outcome and outcome[row.pk] is None]
            if acknowledged:
                OutboxEvent.objects.filter(pk__in=[row.pk for row in acknowledged]).update(sent_at=timezone.now())
            failed = [row for row in rows if row.pk not in outcome or outcome[row.pk] is not None]
            for row in failed:
                error = outcome.get(row.pk)
                row.attempts += 1
                row.last_error = str(error) if error else "no acknowledgement before the flush timeout"
                row.save(update_fields=["attempts", "last_error"])
            # One increment per event type and batch, not per row.
            for event_type, count in Counter(row.event_type for row in acknowledged).items():
                metrics.EVENTS_PUBLISHED.labels(event_type).inc(count)
            for event_type, count in Counter(row.event_type for row in failed).items():
                metrics.EVENTS_PUBLISH_FAILED.labels(event_type).inc(count)
            if failed:
                logger.warning("%d of %d events not acknowledged: %s", len(failed), len(rows), failed[0].last_error)
            return len(acknowledged), len(failed)

    def _lock_lanes(self) -> list[int]:
        """The lanes with pending rows whose lock this transaction could take (others are busy elsewhere)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT lanes.lane FROM generate_series(0, {LANES - 1}) AS lanes(lane)
                WHERE EXISTS (
                    SELECT 1 FROM {OutboxEvent._meta.db_table} pending
                    WHERE pending.sent_at IS NULL AND pending.lane = lanes.lane
                ) AND pg_try_advisory_xact_lock(%s, lanes.lane)
                """,  # noqa: S608 - only our own table name and a constant are formatted in
                [LOCK_NAMESPACE],
            )
            return [lane for (lane,) in cursor.fetchall()]

    def _produce(self, row: WithAnnotations[OutboxEvent, _EnvelopeText], outcome: dict[int, KafkaError | None]) -> None:
        def on_delivery(error: KafkaError | None, message: Message, row_id: int = row.pk) -> None:
            outcome[row_id] = error

        while True:
            try:
                self.producer.produce(
                    topic_name(row.topic),
                    key=row.key.encode(),
                    value=row.envelope_text.encode(),
                    headers={"event_type": row.event_type, "event_id": str(row.event_id)},
                    on_delivery=on_delivery,
                )
                return
            except BufferError:
                self.producer.poll(0.5)  # the local queue is full: let deliveries drain it


def initialise_metrics() -> None:
    """Creates the series of every registered event type at zero, so a dashboard shows 0, not nothing."""
    for name in sorted({event.name for event in EVENT_TYPES}):
        metrics.EVENTS_PUBLISHED.labels(name)
        metrics.EVENTS_PUBLISH_FAILED.labels(name)


def update_gauges() -> None:
    pending = OutboxEvent.objects.filter(sent_at__isnull=True)
    oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
    metrics.OUTBOX_BACKLOG.set(pending.count())
    metrics.OUTBOX_OLDEST_AGE.set((timezone.now() - oldest).total_seconds() if oldest else 0)


def prune(*, older_than: timedelta, inbox_older_than: timedelta | None = None, chunk: int = 5000) -> tuple[int, int]:
    """Deletes sent outbox rows (and, if asked, inbox rows) older than the retention; returns the counts."""
    cutoff = timezone.now() - older_than
    outbox = _delete_in_chunks(OutboxEvent.objects.filter(sent_at__lt=cutoff), chunk)
    inbox = 0
    if inbox_older_than is not None:
        inbox = _delete_in_chunks(
            ProcessedEvent.objects.filter(processed_at__lt=timezone.now() - inbox_older_than), chunk
        )
    return outbox, inbox


def _delete_in_chunks(queryset: QuerySet[Any], chunk: int) -> int:
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:chunk])
        if not ids:
            return total
        deleted, _ = queryset.model.objects.filter(pk__in=ids).delete()
        total += deleted


class ResendOutcome(enum.StrEnum):
    RESENT = "resent"
    ALREADY_PENDING = "already_pending"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Resend:
    outcome: ResendOutcome
    event_type: str = ""


def outbox_resend(*, event_id: uuid.UUID) -> Resend:
    """Puts a published outbox row back to pending (same event id and envelope, attempts 0) and wakes the relay.

    This is how a stuck saga is re-driven: the event its next step waits on goes out again, and a
    consumer that applied it already recognises the id in its inbox and skips it, so a resend is
    always safe. A row still pending is left alone (the relay sends it anyway); an id with no row
    (never written here, or pruned after ``OUTBOX_RETENTION_HOURS``) changes nothing.
    """
    with transaction.atomic():
        row = OutboxEvent.objects.select_for_update().filter(event_id=event_id).first()
        if row is None:
            return Resend(ResendOutcome.UNKNOWN)
        if row.sent_at is None:
            return Resend(ResendOutcome.ALREADY_PENDING, row.event_type)
        row.sent_at = None
        row.attempts = 0
        row.last_error = ""
        row.save(update_fields=["sent_at", "attempts", "last_error"])
        wake_relay()
    logger.info("outbox row %s (%s) put back to pending", event_id, row.event_type)
    return Resend(ResendOutcome.RESENT, row.event_type)
