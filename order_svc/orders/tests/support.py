"""Helpers shared by the order tests: what was published, and delivering a consumed event."""

from __future__ import annotations

from typing import Any

from shared.consumer import Outcome, apply_event
from shared.events import Envelope
from shared.models import OutboxEvent


def published() -> list[tuple[str, dict[str, Any]]]:
    """Every event queued in the outbox, oldest first, as ``(type, payload)``."""
    return [(row.event_type, row.envelope["payload"]) for row in OutboxEvent.objects.order_by("id")]


def published_types() -> list[str]:
    return [event_type for event_type, _ in published()]


def deliver(event_type: str, key: str, payload: dict[str, Any]) -> Outcome:
    """Applies an event as the consumer would, after checking it against its schema."""
    envelope = Envelope(type=event_type, key=key, payload=payload)
    envelope.validate()
    return apply_event(envelope, topic="test", partition=0, offset=0)


def place_body(*lines: tuple[Any, int], **extra: Any) -> dict[str, Any]:
    return {"items": [{"product_id": str(product_id), "quantity": quantity} for product_id, quantity in lines]} | extra
