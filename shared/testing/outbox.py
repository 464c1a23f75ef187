"""What a test caused to be published: the rows of the service's outbox, oldest first (Django needed)."""

from __future__ import annotations

from typing import Any

from shared.models import OutboxEvent


def published(*event_types: str) -> list[tuple[str, dict[str, Any]]]:
    """Events queued in the outbox, oldest first, as ``(type, payload)``; only ``event_types`` when named."""
    rows = OutboxEvent.objects.order_by("id")
    if event_types:
        rows = rows.filter(event_type__in=event_types)
    return [(row.event_type, row.envelope["payload"]) for row in rows]


def payloads(event_type: str) -> list[dict[str, Any]]:
    """The payloads of the ``event_type`` events in the outbox, oldest first."""
    return [payload for _, payload in published(event_type)]


def published_types() -> list[str]:
    return [event_type for event_type, _ in published()]
