"""Rows of the shared tables for tests in any service (``from shared.tests.factories import ...``)."""

from __future__ import annotations

import factory
from django.utils import timezone

from shared.events import Envelope
from shared.models import DeadLetter


class DeadLetterFactory(factory.django.DjangoModelFactory):
    """A dead letter as the consumer records it; :func:`dead_letter_of` fills it from an envelope."""

    class Meta:
        model = DeadLetter

    group = "order-svc"
    dlq_topic = "order-svc.dlq"
    dlq_partition = 0
    dlq_offset = factory.Sequence(lambda n: n)
    original_topic = "inventory"
    original_partition = 0
    original_offset = factory.Sequence(lambda n: 100 + n)
    kind = "handler_failed"
    reason = "handler failed after 5 attempts: RuntimeError('boom')"
    attempts = 5
    value = "not json"
    dead_lettered_at = factory.LazyFunction(timezone.now)


def dead_letter_of(envelope: Envelope, **fields: object) -> DeadLetter:
    """The row the consumer writes when it gives up on ``envelope``."""
    return DeadLetterFactory(
        event_id=envelope.id,
        event_type=envelope.type,
        key=envelope.key,
        value=envelope.to_json().decode(),
        **fields,
    )
