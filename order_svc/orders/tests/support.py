"""Helpers shared by the order tests: delivering a consumed event, a placement body (what was published:
shared.testing.outbox)."""

from __future__ import annotations

from typing import Any

from shared.consumer import Outcome, apply_event
from shared.events import Envelope


def deliver(event_type: str, key: str, payload: dict[str, Any]) -> Outcome:
    """Applies an event as the consumer would, after checking it against its schema."""
    envelope = Envelope(type=event_type, key=key, payload=payload)
    envelope.validate()
    return apply_event(envelope, topic="test", partition=0, offset=0)


def place_body(*lines: tuple[Any, int], **extra: Any) -> dict[str, Any]:
    """A placing body paid with the sandbox's always-succeeding card unless ``extra`` says otherwise."""
    items = [{"product_id": str(product_id), "quantity": quantity} for product_id, quantity in lines]
    return {"items": items, "payment_method": "pm_card_visa"} | extra
