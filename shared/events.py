"""The event envelope, publishing through the outbox, and the registry of handlers.

Publishing: call :func:`publish` inside the ``transaction.atomic()`` block that
makes the change; the row commits (or rolls back) with it and ``relay_outbox``
sends it. Consuming: decorate a function with :func:`handles`; the consumer
applies it and records the event id in the same transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection

from shared.logs import request_id_var
from shared.models import OutboxEvent


class InvalidEnvelope(ValueError):
    """A message that is not an event envelope (it can never be applied)."""


@dataclass(frozen=True)
class Envelope:
    type: str
    key: str
    payload: dict[str, Any]
    version: int = 1
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat().replace("+00:00", "Z"))
    source: str = field(default_factory=lambda: str(settings.SERVICE_NAME))
    request_id: str = field(default_factory=request_id_var.get)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str | None) -> Envelope:
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
            raise InvalidEnvelope("payload must be an object")
        return envelope


def publish(topic: str, envelope: Envelope) -> OutboxEvent:
    """Queues ``envelope`` for ``topic`` in the caller's transaction (required: no transaction, no event)."""
    if not connection.in_atomic_block:
        raise RuntimeError("publish() must be called inside transaction.atomic(), with the change it announces.")
    return OutboxEvent.objects.create(
        event_id=envelope.id,
        event_type=envelope.type,
        topic=topic,
        key=envelope.key,
        envelope=asdict(envelope),
    )


Handler = Callable[[Envelope], None]
_handlers: dict[str, Handler] = {}


def handles(event_type: str) -> Callable[[Handler], Handler]:
    """Registers the decorated function as this process's handler of ``event_type``."""

    def register(handler: Handler) -> Handler:
        existing = _handlers.get(event_type)
        if existing is not None and existing is not handler:
            raise RuntimeError(f"{event_type} already handled by {existing.__qualname__}")
        _handlers[event_type] = handler
        return handler

    return register


def handler_for(event_type: str) -> Handler | None:
    return _handlers.get(event_type)


# Every service applies pings: the inbox row is the whole effect. Operators and the
# end-to-end tests use them to prove the outbox -> Kafka -> consumer path works.
PING = "system.ping"


@handles(PING)
def _apply_ping(envelope: Envelope) -> None:
    return None
