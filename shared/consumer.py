"""The one consumer loop: poll, apply each event once in effect, then commit the offset.

The handler's changes and the inbox row (:class:`~shared.models.ProcessedEvent`)
commit in one database transaction; the Kafka offset is committed only after
that, so a crash between the two redelivers an event the inbox recognises.

Failures: a message that is not a valid envelope, or whose payload fails its
schema, goes to ``<group>.dlq`` at once. A handler that raises is retried with
backoff and dead-lettered after ``CONSUMER_MAX_ATTEMPTS``. Each dead letter is
also recorded as a :class:`~shared.models.DeadLetter` row, which operators list
and replay (``manage.py dlq``, the admin). Database outages
(``OperationalError``) are retried until the database is back: an outage is no
reason to dead-letter good events. Unknown event types are skipped and counted.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, close_old_connections, connections, transaction

from shared import metrics
from shared.events import Envelope, EventHandlers, InvalidEnvelope, event_handlers
from shared.kafka import (
    admin_client,
    consumer_group,
    ensure_topics,
    make_consumer,
    make_producer,
    message_headers,
    topic_name,
)
from shared.logs import request_id_var
from shared.loops import StopSignal
from shared.models import DeadLetter, ProcessedEvent
from shared.periodic import PeriodicRunner

logger = logging.getLogger(__name__)

Result = TypeVar("Result")

MAX_BACKOFF_SECONDS = 5.0
OUTAGE_BACKOFF_SECONDS = 30.0


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"
    DEAD_LETTERED = "dead_lettered"


# Why an event was dead-lettered: not an envelope or failing its schema, or its handler kept failing.
DEAD_LETTER_KINDS = ("invalid", "handler_failed")


class StopRequested(Exception):
    """A stop arrived while a message was still being retried; its offset stays uncommitted."""


class DeadLetterFailed(RuntimeError):
    """The dead-letter topic did not acknowledge; the message must not be committed."""


def dlq_topic(group: str | None = None) -> str:
    return f"{group or consumer_group()}.dlq"


def apply_event(
    envelope: Envelope, *, topic: str, partition: int, offset: int, handlers: EventHandlers | None = None
) -> Outcome:
    """Runs the handler and records the event in one transaction; a recorded event is not applied again.

    ``handlers`` is the registry to apply with, by default the process's (:func:`shared.events.event_handlers`).
    """
    handler = (handlers or event_handlers()).get(envelope.type)
    if handler is None:
        return Outcome.SKIPPED
    try:
        with transaction.atomic():
            if ProcessedEvent.objects.filter(event_id=envelope.id).exists():
                return Outcome.DUPLICATE
            # The inbox row first: a concurrent consumer applying the same event blocks on it, then fails.
            ProcessedEvent.objects.create(
                event_id=envelope.id,
                event_type=envelope.type,
                key=envelope.key[:200],
                topic=topic,
                partition=partition,
                offset=offset,
            )
            handler(envelope)
    except IntegrityError:
        if ProcessedEvent.objects.filter(event_id=envelope.id).exists():
            return Outcome.DUPLICATE
        raise
    return Outcome.APPLIED


class EventConsumer:
    def __init__(
        self,
        topics: Sequence[str],
        stop: StopSignal,
        handlers: EventHandlers | None = None,
        consumer: Consumer | None = None,
        dead_letters: Producer | None = None,
        max_attempts: int | None = None,
        backoff_seconds: float = 0.2,
        periodic: PeriodicRunner | None = None,
    ) -> None:
        self.topics = [topic_name(topic) for topic in topics]
        self.handlers = handlers or event_handlers()
        self.stop = stop
        self.group = consumer_group()
        self.consumer = consumer or make_consumer(**{"statistics.interval.ms": 10_000, "stats_cb": self._on_stats})
        self.dead_letters = dead_letters or make_producer()
        self.max_attempts = max_attempts or settings.CONSUMER_MAX_ATTEMPTS
        self.backoff_seconds = backoff_seconds
        self._processed: dict[tuple[str, int], int] = {}  # next offset to commit, per partition
        # The service's periodic tasks (shared.periodic) run here, between polls, so they need no process of their own.
        self.periodic = periodic or PeriodicRunner()

    def run(self) -> None:
        if not self.topics:
            logger.info("no subscriptions configured; idling until stopped")
            while not self.stop.wait(self._idle_seconds()):
                self.periodic.run_due()
            return
        if not self._ensure_dead_letter_topic():
            return
        self._initialise_metrics()
        self.consumer.subscribe(self.topics, on_revoke=self._on_revoke)
        logger.info("consuming %s", ", ".join(self.topics))
        try:
            while not self.stop.is_set():
                self.periodic.run_due()
                message = self.consumer.poll(0.5)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    self._on_error(error)
                    continue
                try:
                    self.process(message)
                except StopRequested:
                    break
                self._processed[(message.topic() or "", message.partition() or 0)] = (message.offset() or 0) + 1
                self.consumer.commit(message=message, asynchronous=True)
        finally:
            self._commit_processed()
            # Leaves the group at once, so its partitions move to other members without waiting for a timeout.
            self.consumer.close()
            self.dead_letters.flush(10)
            connections.close_all()
            logger.info("consumer closed")

    def _ensure_dead_letter_topic(self) -> bool:
        """Makes sure ``<group>.dlq`` exists, waiting for Kafka while it is unreachable (a process started
        during a broker outage waits for it instead of exiting); False when stopped meanwhile."""
        wait = 1.0
        while True:
            try:
                ensure_topics(admin_client(), [dlq_topic(self.group)], partitions=1)
                return True
            except KafkaException as exc:
                logger.warning("Kafka unreachable at start-up, retrying in %.0fs: %s", wait, exc)
            if self.stop.wait(wait):
                return False
            wait = min(wait * 2, 10.0)

    def _idle_seconds(self) -> float:
        until_due = self.periodic.seconds_until_due()
        return 3600.0 if until_due is None else until_due

    def _initialise_metrics(self) -> None:
        """Creates the series of every event type handled here at zero, so a dashboard shows 0, not nothing."""
        for event_type in self.handlers.names():
            for outcome in (Outcome.APPLIED, Outcome.DUPLICATE):
                metrics.EVENTS_CONSUMED.labels(event_type, self.group, outcome.value)
            metrics.EVENTS_RETRIED.labels(event_type, self.group)
            for kind in DEAD_LETTER_KINDS:
                metrics.EVENTS_DEAD_LETTERED.labels(event_type, self.group, kind)
            metrics.HANDLER_SECONDS.labels(event_type, self.group)
            metrics.EVENT_DELIVERY_SECONDS.labels(event_type, self.group)

    def process(self, message: Message) -> Outcome:
        """Applies one message (retrying as the policy says) or dead-letters it; never drops it silently."""
        close_old_connections()
        try:
            envelope = Envelope.from_json(message.value())
            envelope.validate()
        except InvalidEnvelope as exc:
            return self.dead_letter(
                message,
                event_type=message_headers(message).get("event_type", ""),
                reason=str(exc),
                attempts=1,
                kind="invalid",
            )
        token = request_id_var.set(envelope.request_id)
        try:
            return self._apply_with_retries(message, envelope)
        finally:
            request_id_var.reset(token)

    def _apply_with_retries(self, message: Message, envelope: Envelope) -> Outcome:
        """Applies the event; a failing handler is retried ``max_attempts`` times, then dead-lettered.

        A database outage is waited out (:meth:`_while_database_down`) and is no attempt: the
        event is not the problem, so the time it takes must not bring its dead-lettering closer.
        """
        attempts = 0
        started = time.monotonic()

        def apply() -> Outcome:
            nonlocal started
            started = time.monotonic()
            return apply_event(
                envelope,
                topic=message.topic() or "",
                partition=message.partition() or 0,
                offset=message.offset() or 0,
                handlers=self.handlers,
            )

        def count_retry() -> None:
            metrics.EVENTS_RETRIED.labels(envelope.type, self.group).inc()

        while True:
            attempts += 1
            try:
                outcome = self._while_database_down(
                    f"applying {envelope.type} {envelope.id}", apply, on_outage=count_retry
                )
            except StopRequested:
                raise
            except Exception as exc:
                if attempts >= self.max_attempts:
                    logger.exception("%s %s failed %d times; dead-lettering", envelope.type, envelope.id, attempts)
                    return self.dead_letter(
                        message,
                        event_type=envelope.type,
                        attempts=attempts,
                        kind="handler_failed",
                        reason=f"handler failed after {attempts} attempts: {exc!r}",
                    )
                logger.warning("%s %s failed (attempt %d): %r", envelope.type, envelope.id, attempts, exc)
                metrics.EVENTS_RETRIED.labels(envelope.type, self.group).inc()
                self._pause(min(MAX_BACKOFF_SECONDS, self.backoff_seconds * 2 ** (attempts - 1)))
                continue
            self._record(envelope, outcome, time.monotonic() - started)
            return outcome

    def _record(self, envelope: Envelope, outcome: Outcome, seconds: float) -> None:
        if outcome is Outcome.SKIPPED:
            metrics.EVENTS_SKIPPED.labels(envelope.type, self.group).inc()
            logger.info("no handler for %s; skipped", envelope.type)
            return
        metrics.EVENTS_CONSUMED.labels(envelope.type, self.group, outcome.value).inc()
        if outcome is Outcome.APPLIED:
            metrics.HANDLER_SECONDS.labels(envelope.type, self.group).observe(seconds)
            occurred = _parse_time(envelope.occurred_at)
            if occurred is not None:
                delay = (datetime.now(UTC) - occurred).total_seconds()
                metrics.EVENT_DELIVERY_SECONDS.labels(envelope.type, self.group).observe(max(0.0, delay))
            logger.info("applied %s %s", envelope.type, envelope.id)
        else:
            logger.info("%s %s already applied; skipped", envelope.type, envelope.id)

    def _pause(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise StopRequested

    def _while_database_down(
        self, doing: str, action: Callable[[], Result], *, on_outage: Callable[[], None] | None = None
    ) -> Result:
        """``action()``, retried with growing pauses (up to 30 s) for as long as the database is unreachable.

        The one owner of "wait out a database outage" for this consumer: an outage is never a
        reason to dead-letter or to lose a message. A stop during the wait raises :class:`StopRequested`.
        """
        outage = 0
        while True:
            try:
                return action()
            except (OperationalError, InterfaceError) as exc:
                outage += 1
                logger.warning("database unavailable %s: %s", doing, exc)
                if on_outage is not None:
                    on_outage()
                close_old_connections()
                self._pause(min(OUTAGE_BACKOFF_SECONDS, self.backoff_seconds * 2 ** min(outage, 8)))

    def dead_letter(self, message: Message, *, event_type: str, reason: str, attempts: int, kind: str) -> Outcome:
        """Copies the message to ``<group>.dlq`` with why, waits for the broker's acknowledgement, then records it.

        The :class:`~shared.models.DeadLetter` row is what operators read and replay. It is written
        only after Kafka acknowledged the copy (it names the copy's position), and the caller commits
        the offset only after it is written, so a database outage here delays the message, never loses it.
        """
        dead_lettered_at = datetime.now(UTC)
        headers: dict[str, str | bytes | None] = {
            "error": reason[:2000],
            "attempts": str(attempts),
            "original_topic": message.topic() or "",
            "original_partition": str(message.partition()),
            "original_offset": str(message.offset()),
            "event_type": event_type,
            "group": self.group,
            "dead_lettered_at": dead_lettered_at.isoformat(),
        }
        delivery: list[tuple[KafkaError | None, Message]] = []
        self.dead_letters.produce(
            dlq_topic(self.group),
            key=message.key(),
            value=message.value(),
            headers=headers,
            on_delivery=lambda error, copy: delivery.append((error, copy)),
        )
        self.dead_letters.flush(30)
        if not delivery or delivery[0][0] is not None:
            why = delivery[0][0] if delivery else "timeout"
            raise DeadLetterFailed(f"dead-letter topic did not acknowledge: {why}")
        self._record_dead_letter(
            message,
            copy=delivery[0][1],
            event_type=event_type,
            reason=reason,
            attempts=attempts,
            kind=kind,
            dead_lettered_at=dead_lettered_at,
        )
        metrics.EVENTS_DEAD_LETTERED.labels(event_type or "unknown", self.group, kind).inc()
        logger.error(
            "dead-lettered %s[%s]@%s (%s): %s",
            message.topic(),
            message.partition(),
            message.offset(),
            event_type,
            reason,
        )
        return Outcome.DEAD_LETTERED

    def _record_dead_letter(
        self,
        message: Message,
        *,
        copy: Message,
        event_type: str,
        reason: str,
        attempts: int,
        kind: str,
        dead_lettered_at: datetime,
    ) -> DeadLetter:
        """Stores the row for the copy at ``copy``'s position, once; waits out a database outage.

        A stop during the outage raises :class:`StopRequested`: the message stays uncommitted, so the
        next consumer dead-letters it again (a second copy in Kafka, and then its one row).
        """
        try:
            envelope: Envelope | None = Envelope.from_json(message.value())
        except InvalidEnvelope:
            envelope = None
        fields = {
            "group": self.group,
            "original_topic": message.topic() or "",
            "original_partition": message.partition() or 0,
            "original_offset": message.offset() or 0,
            "event_id": envelope.id if envelope else None,
            "event_type": _text(envelope.type if envelope else event_type)[:100],
            # The key of a message that is not an envelope is still the aggregate it was about.
            "key": _text(envelope.key if envelope else message.key() or b"")[:200],
            "kind": kind,
            "reason": _text(reason),
            "attempts": attempts,
            "value": _text(message.value() or b""),
            "dead_lettered_at": dead_lettered_at,
        }

        def record() -> DeadLetter:
            letter, _ = DeadLetter.objects.get_or_create(
                dlq_topic=copy.topic() or "",
                dlq_partition=copy.partition() or 0,
                dlq_offset=copy.offset() or 0,
                defaults=fields,
            )
            return letter

        return self._while_database_down(f"recording a dead letter ({event_type})", record)

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            raise KafkaException(error)
        logger.warning("Kafka: %s", error)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._commit_processed({(partition.topic, partition.partition) for partition in partitions})

    def _commit_processed(self, only: set[tuple[str, int]] | None = None) -> None:
        """Commits, synchronously, the offsets of the messages fully handled (never the one in progress)."""
        offsets = [
            TopicPartition(topic, partition, offset)
            for (topic, partition), offset in self._processed.items()
            if only is None or (topic, partition) in only
        ]
        if not offsets:
            return
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            logger.warning("offset commit failed (the events will be redelivered and recognised): %s", exc)

    def _on_stats(self, stats_json: str) -> None:
        stats = json.loads(stats_json)
        for topic, info in stats.get("topics", {}).items():
            for partition, numbers in info.get("partitions", {}).items():
                lag = numbers.get("consumer_lag", -1)
                if partition != "-1" and lag >= 0:
                    metrics.CONSUMER_LAG.labels(self.group, topic, partition).set(lag)


def _text(value: str | bytes) -> str:
    """Text Postgres can store: bytes decoded as UTF-8 with replacement, and NUL (refused by Postgres) replaced too."""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return value.replace("\x00", "\ufffd")


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
