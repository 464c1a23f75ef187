"""Reading what a test caused: events in the outbox, applied as the consumer would apply them."""

from typing import Any

from shared.consumer import Outcome, apply_event
from shared.events import Envelope
from shared.models import OutboxEvent


def apply(envelope: Envelope, offset: int = 0) -> Outcome:
    """Applies ``envelope`` as the consumer would: handler and inbox row in one transaction."""
    return apply_event(envelope, topic="orders", partition=0, offset=offset)


def published(event_type: str) -> list[dict[str, Any]]:
    """Payloads of ``event_type`` in the outbox, oldest first."""
    rows = OutboxEvent.objects.filter(event_type=event_type).order_by("id")
    return [row.envelope["payload"] for row in rows]


def published_types() -> list[str]:
    return list(OutboxEvent.objects.order_by("id").values_list("event_type", flat=True))
