"""The one consumer loop: poll, apply each event once in effect, then commit the offset.

The handler's changes and the inbox row (:class:`~shared.models.ProcessedEvent`)
commit in one database transaction; the Kafka offset is committed only after
that, so a crash between the two redelivers an event the inbox recognises. Offsets
go to Kafka at most once a second (and at once on a rebalance or a stop): a crash
redelivers up to a second of applied events, which the inbox skips.

Batches: the messages one poll brings (up to ``batch_size``) are applied in ONE
transaction, in the order received (so per partition, per key). One query reads which
of them the inbox already holds, one INSERT stores the inbox rows of the others, one
``NOTIFY`` wakes the relay for all they publish, and one commit stores them all: per
event that saves a transaction (its ``COMMIT``, the WAL flush), a duplicate check and
round trips. The events have no savepoint each (two round trips per event saved): a
handler that raises rolls back the whole batch, and then the events before it are
applied again in a fresh transaction (their effects were rolled back with it, so this
applies nothing twice), it takes the one-at-a-time path below (retries, dead letter),
and only then do the events after it run. So does a message that is not an envelope,
and the first event of a batch whose transaction failed as a whole (the database went
away, a concurrent consumer stored one of its inbox rows). Post-commit work a handler
registers (``transaction.on_commit``) runs only for a transaction that committed: a
rolled-back batch's is dropped, and registered again by its replay. Events no handler
here takes are skipped without a transaction or an inbox query.

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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, close_old_connections, connections, transaction

from shared import metrics
from shared.events import Envelope, EventHandlers, Handler, InvalidEnvelope, event_handlers, one_relay_wake
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
BATCH_SIZE = 100  # messages taken per poll, applied in one transaction
# How often handled messages' offsets go to Kafka (see EventConsumer._commit_offsets_if_due).
OFFSET_COMMIT_SECONDS = 1.0
# A batch's transaction holds its handlers' row locks until it commits: past this, the rest of the
# poll's messages go into a next transaction.
BATCH_MAX_SECONDS = 0.5
# close_old_connections() makes the next query a health check (SELECT 1, CONN_HEALTH_CHECKS): once a
# second, not once per event. A connection broken in between fails its event, which the outage path retries.
CONNECTION_CHECK_SECONDS = 1.0


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
    envelope: Envelope,
    *,
    topic: str,
    partition: int,
    offset: int,
    handlers: EventHandlers | None = None,
) -> Outcome:
    """Runs the handler and records the event in one transaction; a recorded event is not applied again.

    The consumer's one-at-a-time path (a batch's events go through :meth:`EventConsumer._apply_together`).
    ``handlers`` is the registry to apply with, by default the process's (:func:`shared.events.event_handlers`).
    The inbox row's primary key decides: inserting it for an event already recorded (by a redelivery, or
    by a concurrent consumer, whose commit the insert waits for) fails, and the event is a duplicate.
    """
    handler = (handlers or event_handlers()).get(envelope.type)
    if handler is None:
        return Outcome.SKIPPED
    try:
        # One NOTIFY however many events the handler publishes: saves a round trip per further event.
        with transaction.atomic(), one_relay_wake():
            # The inbox row first, with no SELECT before it (that saves a round trip per event; the insert
            # is the check): a concurrent consumer applying the same event blocks on it, then fails.
            _inbox_row(envelope, topic=topic, partition=partition, offset=offset).save(force_insert=True)
            handler(envelope)
    except IntegrityError:
        if ProcessedEvent.objects.filter(event_id=envelope.id).exists():
            return Outcome.DUPLICATE
        raise
    return Outcome.APPLIED


def _inbox_row(envelope: Envelope, *, topic: str, partition: int, offset: int) -> ProcessedEvent:
    return ProcessedEvent(
        event_id=envelope.id,
        event_type=envelope.type,
        key=envelope.key[:200],
        topic=topic,
        partition=partition,
        offset=offset,
    )


class _HandlerFailed(Exception):
    """The handler of a batch's ``index``-th event raised ``error``: the batch's transaction is rolled back."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


@dataclass(frozen=True)
class Handled:
    """One message of a batch, handled: what came of it and how long its handler took."""

    message: Message
    envelope: Envelope
    outcome: Outcome
    seconds: float


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
        batch_size: int = BATCH_SIZE,
        batch_max_seconds: float = BATCH_MAX_SECONDS,
        offset_commit_seconds: float = OFFSET_COMMIT_SECONDS,
    ) -> None:
        self.topics = [topic_name(topic) for topic in topics]
        self.handlers = handlers or event_handlers()
        self.stop = stop
        self.group = consumer_group()
        self.consumer = consumer or make_consumer(**{"statistics.interval.ms": 10_000, "stats_cb": self._on_stats})
        self.dead_letters = dead_letters or make_producer()
        self.max_attempts = max_attempts or settings.CONSUMER_MAX_ATTEMPTS
        self.backoff_seconds = backoff_seconds
        self.batch_size = batch_size
        self.batch_max_seconds = batch_max_seconds
        self._processed: dict[tuple[str, int], int] = {}  # next offset to commit, per partition
        self._uncommitted: dict[tuple[str, int], int] = {}  # of those, the ones not sent to Kafka yet
        self._next_offset_commit = 0.0
        self.offset_commit_seconds = offset_commit_seconds
        self._rebalanced = False  # set by on_revoke while a batch is gathered
        self._connections_checked = -CONNECTION_CHECK_SECONDS
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
                self._commit_offsets_if_due()
                messages = self._next_batch()
                if not messages:
                    continue
                try:
                    self.handle_batch(messages)
                except StopRequested:
                    break
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

    def _next_batch(self) -> list[Message]:
        """Waits (up to 0.5 s) for a message, then takes those already fetched behind it, up to ``batch_size``.

        ``consume(n, timeout)`` alone would wait out its timeout for ``n`` messages: polling for the first
        and then taking what is there without waiting adds no latency when events come one at a time.
        """
        self._rebalanced = False
        first = self.consumer.poll(0.5)
        if first is None:
            return []
        gathered = [first]
        if self.batch_size > 1:
            gathered += self.consumer.consume(num_messages=self.batch_size - 1, timeout=0)
        if self._rebalanced:
            # A partition revoked meanwhile is its next owner's, which starts from the committed offset:
            # its messages gathered before the revocation are left to it.
            owned = {(part.topic, part.partition) for part in self.consumer.assignment()}
            gathered = [message for message in gathered if (message.topic(), message.partition()) in owned]
        messages = []
        for message in gathered:
            error = message.error()
            if error is None:
                messages.append(message)
            else:
                self._on_error(error)
        return messages

    def handle_batch(self, messages: Sequence[Message]) -> None:
        """Handles one poll's messages in order: as many as possible in one transaction, and each one that
        cannot be applied with the others alone (:meth:`process`); offsets are committed after each.

        Raises :class:`StopRequested` when a stop arrives while a message waits for a retry or for the
        database: the messages from that one on stay uncommitted and are redelivered.
        """
        self._check_connections()
        remaining = list(messages)
        while remaining:
            if len(remaining) == 1:
                # Alone, an event needs no inbox SELECT (its inbox INSERT is the check): the cheaper transaction.
                alone, failed_once = True, None
            else:
                handled, alone, failed_once = self._apply_together(remaining)
                self._mark_processed([item.message for item in handled])
                for item in handled:
                    self._record(item.envelope, item.outcome, item.seconds)
                remaining = remaining[len(handled) :]
            if alone:
                # ``remaining[0]`` could not be applied with the others: alone now, before any event after it.
                self.process(remaining[0], failed_once=failed_once)
                self._mark_processed(remaining[:1])
                remaining = remaining[1:]
            if remaining and self.stop.is_set():
                raise StopRequested

    def _apply_together(self, messages: Sequence[Message]) -> tuple[list[Handled], bool, Exception | None]:
        """Applies ``messages`` from the first in one transaction, until one cannot be or
        ``batch_max_seconds`` have passed.

        Returns the messages handled (committed when this returns), whether the next one must go alone, and
        its handler's failure when that was why (its first attempt). The events share the transaction with
        no savepoint each (that saves a SAVEPOINT and a RELEASE per event): a handler that raises rolls
        back the whole batch, and the events before it are applied again in a fresh transaction (a replay:
        their effects and inbox rows went with the rollback, so nothing is applied twice). An error of the
        transaction itself (the database went away, a deadlock, a concurrent consumer's inbox row, a
        failing commit) loses all of it: nothing is handled, and the first message goes alone, which finds
        out whether it is to blame.
        """
        envelopes: list[Envelope] = []
        for message in messages:
            try:
                envelope = Envelope.from_json(message.value())
                envelope.validate()
            except InvalidEnvelope:
                break  # dead-lettered on its own, once the ones before it are applied
            envelopes.append(envelope)
        failed_once: Exception | None = None
        while envelopes:
            try:
                handled = self._apply_in_one_transaction(messages[: len(envelopes)], envelopes)
            except _HandlerFailed as failure:
                envelopes, failed_once = envelopes[: failure.index], failure.error
                continue  # the events before the failing one, again; then it alone
            except Exception as exc:
                logger.warning("a batch of %d events rolled back; applying the first alone: %r", len(envelopes), exc)
                return [], True, None
            if len(handled) < len(envelopes):
                return handled, False, None  # out of time: the rest go into the next transaction
            return handled, len(handled) < len(messages), failed_once
        return [], True, failed_once

    def _apply_in_one_transaction(self, messages: Sequence[Message], envelopes: Sequence[Envelope]) -> list[Handled]:
        """Applies the events in order in one transaction until ``batch_max_seconds`` have passed; returns
        those handled, committed. A handler that raises rolls all of it back and raises :class:`_HandlerFailed`.
        """
        handlers = [self.handlers.get(envelope.type) for envelope in envelopes]
        if not any(handlers):
            # Events nobody here handles need no transaction and no inbox: saves BEGIN, SELECT and COMMIT.
            return [
                Handled(message, envelope, Outcome.SKIPPED, 0.0)
                for message, envelope in zip(messages, envelopes, strict=True)
            ]
        started = time.monotonic()
        # One NOTIFY for all the events the batch's handlers publish: saves a round trip per further event.
        with transaction.atomic(), one_relay_wake():
            outcomes = self._claim_inbox(messages, envelopes, handlers)
            handled: list[Handled] = []
            for index, (message, envelope, handler) in enumerate(zip(messages, envelopes, handlers, strict=True)):
                if handled and time.monotonic() - started >= self.batch_max_seconds:
                    # The rest go into the next transaction, so their inbox rows must not commit with this one.
                    unapplied = [
                        e.id for e, o in zip(envelopes[index:], outcomes[index:], strict=True) if o is Outcome.APPLIED
                    ]
                    ProcessedEvent.objects.filter(event_id__in=unapplied).delete()
                    break
                applying = time.monotonic()
                if handler is not None and outcomes[index] is Outcome.APPLIED:
                    token = request_id_var.set(envelope.request_id)
                    try:
                        handler(envelope)
                    except (OperationalError, InterfaceError):
                        raise  # the transaction is lost: no replay, the first event goes alone
                    except Exception as exc:
                        logger.warning("%s %s failed (attempt 1): %r", envelope.type, envelope.id, exc)
                        raise _HandlerFailed(index, exc) from exc
                    finally:
                        request_id_var.reset(token)
                handled.append(Handled(message, envelope, outcomes[index], time.monotonic() - applying))
            if transaction.get_rollback():
                # A handler swallowed the error of an atomic block of its own: this transaction cannot commit.
                raise InterfaceError("the batch's transaction was marked for rollback")
        return handled

    def _claim_inbox(
        self, messages: Sequence[Message], envelopes: Sequence[Envelope], handlers: Sequence[Handler | None]
    ) -> list[Outcome]:
        """Each event's outcome, the inbox rows of those to apply stored: one SELECT and one INSERT for the
        batch, instead of an INSERT per event.

        A row a concurrent consumer stored since the SELECT fails the INSERT (once the other commits: an
        ``IntegrityError``), which rolls the batch back; applied alone, the event is recognised.
        """
        ids = [envelope.id for envelope, handler in zip(envelopes, handlers, strict=True) if handler is not None]
        seen = {
            str(event_id) for event_id in ProcessedEvent.objects.filter(event_id__in=ids).values_list("pk", flat=True)
        }
        outcomes: list[Outcome] = []
        rows: list[ProcessedEvent] = []
        for message, envelope, handler in zip(messages, envelopes, handlers, strict=True):
            if handler is None:
                outcomes.append(Outcome.SKIPPED)
            elif envelope.id in seen:
                outcomes.append(Outcome.DUPLICATE)
            else:
                seen.add(envelope.id)  # a second copy further on in this batch is a duplicate
                outcomes.append(Outcome.APPLIED)
                rows.append(
                    _inbox_row(
                        envelope,
                        topic=message.topic() or "",
                        partition=message.partition() or 0,
                        offset=message.offset() or 0,
                    )
                )
        if rows:
            ProcessedEvent.objects.bulk_create(rows)
        return outcomes

    def process(self, message: Message, *, failed_once: Exception | None = None) -> Outcome:
        """Applies one message (retrying as the policy says) or dead-letters it; never drops it silently.

        ``failed_once``: the message's handler already failed once, with this (in a batch); that was its
        first attempt.
        """
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
            return self._apply_with_retries(message, envelope, failed_once=failed_once)
        finally:
            request_id_var.reset(token)

    def _apply_with_retries(self, message: Message, envelope: Envelope, *, failed_once: Exception | None) -> Outcome:
        """Applies the event; a failing handler is retried ``max_attempts`` times, then dead-lettered.

        A database outage is waited out (:meth:`_while_database_down`) and is no attempt: the
        event is not the problem, so the time it takes must not bring its dead-lettering closer.
        """
        attempts = 0
        failure = failed_once
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
            if failure is not None:
                attempts += 1
                if attempts >= self.max_attempts:
                    logger.error(
                        "%s %s failed %d times; dead-lettering",
                        envelope.type,
                        envelope.id,
                        attempts,
                        exc_info=failure,
                    )
                    return self.dead_letter(
                        message,
                        event_type=envelope.type,
                        attempts=attempts,
                        kind="handler_failed",
                        reason=f"handler failed after {attempts} attempts: {failure!r}",
                    )
                if attempts > 1 or failed_once is None:
                    logger.warning("%s %s failed (attempt %d): %r", envelope.type, envelope.id, attempts, failure)
                count_retry()
                self._pause(min(MAX_BACKOFF_SECONDS, self.backoff_seconds * 2 ** (attempts - 1)))
            try:
                outcome = self._while_database_down(
                    f"applying {envelope.type} {envelope.id}", apply, on_outage=count_retry
                )
            except StopRequested:
                raise
            except Exception as exc:
                failure = exc
                continue
            self._record(envelope, outcome, time.monotonic() - started)
            return outcome

    def _record(self, envelope: Envelope, outcome: Outcome, seconds: float) -> None:
        """Counts and logs one handled event (after its transaction committed), under its request id: a
        batch's events are recorded after the batch commits, outside the id each was applied under."""
        token = request_id_var.set(envelope.request_id)
        try:
            self._count_and_log(envelope, outcome, seconds)
        finally:
            request_id_var.reset(token)

    def _count_and_log(self, envelope: Envelope, outcome: Outcome, seconds: float) -> None:
        if outcome is Outcome.SKIPPED:
            metrics.EVENTS_SKIPPED.labels(envelope.type, self.group).inc()
            logger.debug("no handler for %s; skipped", envelope.type)  # DEBUG: an INFO line per such event cost CPU
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

    def _check_connections(self) -> None:
        """Django's per-request connection upkeep (age, errors, health check), at most once a second."""
        now = time.monotonic()
        if now - self._connections_checked >= CONNECTION_CHECK_SECONDS:
            close_old_connections()
            self._connections_checked = now

    def _mark_processed(self, messages: Sequence[Message]) -> None:
        """Records the messages as fully handled; their offsets go to Kafka when due (``_commit_offsets_if_due``)."""
        latest: dict[tuple[str, int], int] = {}
        for message in messages:
            latest[(message.topic() or "", message.partition() or 0)] = (message.offset() or 0) + 1
        if not latest:
            return
        self._processed.update(latest)
        self._uncommitted.update(latest)
        self._commit_offsets_if_due()

    def _commit_offsets_if_due(self) -> None:
        """Sends the handled messages' offsets to Kafka at most once per ``offset_commit_seconds`` (async).

        An offset commit is a write to Kafka's ``__consumer_offsets`` log; one per batch was a good part of
        the broker's work per event. Waiting up to a second risks nothing: a crash before the commit
        redelivers up to a second of events, which the inbox recognises as applied; a rebalance or a stop
        commits at once (:meth:`_commit_processed`).
        """
        now = time.monotonic()
        if not self._uncommitted or now < self._next_offset_commit:
            return
        self.consumer.commit(
            offsets=[TopicPartition(topic, part, offset) for (topic, part), offset in self._uncommitted.items()],
            asynchronous=True,
        )
        self._uncommitted.clear()
        self._next_offset_commit = now + self.offset_commit_seconds

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
        self._rebalanced = True
        revoked = {(partition.topic, partition.partition) for partition in partitions}
        self._commit_processed(revoked)
        # The partitions' next owner commits from here on: a later commit of ours would rewind it.
        for key in revoked:
            self._processed.pop(key, None)
            self._uncommitted.pop(key, None)

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
