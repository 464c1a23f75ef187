"""Applying events as the consumer would (what they publish: shared.testing.outbox)."""

from shared.consumer import Outcome, apply_event
from shared.events import Envelope


def apply(envelope: Envelope, offset: int = 0) -> Outcome:
    """Applies ``envelope`` as the consumer would: handler and inbox row in one transaction."""
    return apply_event(envelope, topic="orders", partition=0, offset=offset)
