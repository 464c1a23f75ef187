"""Applying events as the consumer would, with the provider calls their commit triggers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.consumer import Outcome, apply_event
from shared.events import Envelope


def apply(envelope: Envelope, offset: int = 0) -> Outcome:
    """Applies ``envelope`` as the consumer would: handler and inbox row in one transaction."""
    return apply_event(envelope, topic=envelope.type.split(".")[0], partition=0, offset=offset)


def apply_committed(capture: Callable[..., Any], *envelopes: Envelope) -> list[Outcome]:
    """Applies each envelope and runs what its commit triggers (the provider call), as the consumer does.

    ``capture`` is pytest-django's ``django_capture_on_commit_callbacks`` (the test's transaction never commits).
    """
    outcomes = []
    for envelope in envelopes:
        with capture(execute=True):
            outcomes.append(apply(envelope))
    return outcomes
