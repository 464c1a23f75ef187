"""The event envelope, publishing through the transactional outbox, and the registry of handlers.

Publishing: build an :class:`Envelope` and call :func:`publish` inside the
``transaction.atomic()`` block that makes the change; the outbox row commits
(or rolls back) with it, and ``relay_outbox`` sends it. Consuming: decorate a
function with :func:`handles` (an :class:`EventHandlers` registry); the consumer applies it and records the event
id in the same transaction, so a redelivered event has no second effect.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.module_loading import import_string

from shared.event_types import InvalidPayload, UnknownEventType, event_type, event_types_named, validate_payload
from shared.logs import request_id_var
from shared.models import OutboxEvent
from shared.registry import Registry

OUTBOX_CHANNEL = "shop_outbox"  # NOTIFY channel: wakes the relay as soon as a publishing transaction commits
LANES = 16


class InvalidEnvelope(ValueError):
    """A message that can never be applied: not an envelope, or a payload that fails its schema."""


def rfc3339(moment: datetime) -> str:
    """The RFC 3339 UTC form events use for times, e.g. ``2026-11-26T06:00:00.123456Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _now() -> str:
    return rfc3339(datetime.now(UTC))


@dataclass(frozen=True)
class Envelope:
    type: str
    key: str
    payload: dict[str, Any]
    version: int = 1
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=_now)
    source: str = field(default_factory=lambda: str(settings.SERVICE_NAME))
    request_id: str = field(default_factory=request_id_var.get)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    def validate(self) -> None:
        """Raises :class:`InvalidEnvelope` unless the payload fits the schema of this type and version."""
        try:
            validate_payload(self.type, self.version, self.payload)
        except (InvalidPayload, UnknownEventType) as exc:
            raise InvalidEnvelope(str(exc)) from exc

    @classmethod
    def from_json(cls, raw: bytes | str | None) -> Envelope:
        """Parses a message value; raises :class:`InvalidEnvelope` when it is not an envelope."""
        try:
            data = json.loads(raw or b"")
            envelope = cls(
                id=str(uuid.UUID(str(data["id"]))),
                type=str(data["type"]),
                version=int(data["version"]),
                occurred_at=str(data["occurred_at"]),
                source=str(data["source"]),
                key=str(data["key"]),
                request_id=str(data.get("request_id") or ""),
                payload=data["payload"],
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidEnvelope(f"not an event envelope: {exc!r}") from exc
        if not isinstance(envelope.payload, dict):
            raise InvalidEnvelope("not an event envelope: payload must be an object")
        return envelope


def lane_of(key: str) -> int:
    return zlib.crc32(key.encode()) % LANES


def publish(envelope: Envelope, *, topic: str | None = None) -> OutboxEvent:
    """Queues ``envelope`` in the caller's transaction (required: no transaction, no event).

    The topic comes from the event type; only ``system.ping`` takes one. An invalid
    payload raises :class:`InvalidEnvelope` here, in the producer's code path.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("publish() must be called inside transaction.atomic(), with the change it announces.")
    envelope.validate()
    registered = event_type(envelope.type, envelope.version).topic
    if registered != "*" and topic not in (None, registered):
        raise ValueError(f"{envelope.type} is published on {registered}, not {topic}")
    target = topic if registered == "*" else registered
    if not target:
        raise ValueError(f"{envelope.type} needs a topic")
    row = OutboxEvent.objects.create(
        event_id=envelope.id,
        event_type=envelope.type,
        topic=target,
        key=envelope.key,
        lane=lane_of(envelope.key),
        envelope=asdict(envelope),
    )
    wake_relay()
    return row


def handler_transaction() -> transaction.Atomic:
    """The transaction of an event handler's change (a saga step), for ``with handler_transaction():``.

    In the consumer it joins the consumer's transaction (the inbox row and the change commit together:
    shared.consumer) without a savepoint, which would cost two round trips per event. A batch's events
    share one transaction with no savepoint of their own either, so a handler's error rolls back the
    whole batch there; the consumer applies the events before it again and retries it alone. Called on
    its own (a test, a command) it is an ordinary transaction.
    """
    return transaction.atomic(savepoint=False)


# Inside one_relay_wake(): whether the block published (wake_relay() was called); None outside it.
_wake_wanted: ContextVar[list[bool] | None] = ContextVar("wake_wanted", default=None)


def wake_relay() -> None:
    """Tells the relays there is work, once (and only if) the caller's transaction commits.

    Inside :func:`one_relay_wake` it only notes that a wake is wanted; the block's end sends it.
    """
    wanted = _wake_wanted.get()
    if wanted is not None:
        wanted[0] = True
        return
    with connection.cursor() as cursor:
        cursor.execute(f"NOTIFY {OUTBOX_CHANNEL}")


@contextmanager
def one_relay_wake() -> Iterator[None]:
    """One ``NOTIFY`` for all the events the block publishes, sent as it ends, if it published any.

    For a block inside one transaction (the consumer's: an event's or a batch's). Postgres delivers a
    transaction's notifications when it commits, and one as well as many: so one per transaction wakes
    the relay as surely and saves a round trip per further event. A block that raises sends none (its
    transaction is rolled back anyway). Nested, the outermost block sends it.
    """
    if _wake_wanted.get() is not None:
        yield
        return
    wanted = [False]
    token = _wake_wanted.set(wanted)
    try:
        yield
    finally:
        _wake_wanted.reset(token)
    if wanted[0]:
        wake_relay()


Handler = Callable[[Envelope], None]


class EventHandlers(Registry[Handler]):
    """One process's handlers, by event type; the consumer and dead-letter replay apply through one of these.

    The apps register into :data:`HANDLERS` (:func:`handles`); a test builds its own, so its handlers
    never mix with a service's. Every registry applies ``system.ping``: the inbox row is the whole effect.
    """

    def __init__(self) -> None:
        super().__init__("event handler")
        self.handles(PING)(_apply_ping)

    def handles(self, event_type_name: str) -> Callable[[Handler], Handler]:
        """Registers the decorated function as the handler of ``event_type_name``.

        A name the registry of event types does not know raises :class:`UnknownEventType` here, at
        import: a typo must not make a handler that never runs. A handler runs inside the transaction
        that records the event as processed; it must not publish to Kafka itself (use :func:`publish`,
        which joins that transaction).
        """
        event_types_named(event_type_name)

        def register(handler: Handler) -> Handler:
            self.add(event_type_name, handler, owner=handler)
            return handler

        return register

    def topics(self) -> list[str]:
        """The topics of the events handled here, which the consumer reads (``system.ping`` rides on any of them)."""
        return sorted({event.topic for name in self.names() for event in event_types_named(name)} - {"*"})


PING = "system.ping"


def _apply_ping(envelope: Envelope) -> None:
    """Every service applies pings: the inbox row is the whole effect."""


HANDLERS = EventHandlers()
handles = HANDLERS.handles


def event_handlers() -> EventHandlers:
    """The registry this process applies events with: ``settings.EVENT_HANDLERS``, by default :data:`HANDLERS`."""
    handlers = import_string(settings.EVENT_HANDLERS)
    if not isinstance(handlers, EventHandlers):
        raise TypeError(f"EVENT_HANDLERS names {handlers!r}, not an EventHandlers")
    return handlers
