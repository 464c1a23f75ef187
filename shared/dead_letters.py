"""Listing and replaying this service's dead letters (``manage.py dlq``, the admin's "Replay" action).

The :class:`~shared.models.DeadLetter` table is the one record of what was
dead-lettered and whether it was replayed; the consumer writes a row for every
copy it sends to ``<group>.dlq`` (that topic is kept for tools outside the
service, nothing here reads it). A replay applies the letter through the
consumer's own path, :func:`shared.consumer.apply_event`, inbox included, so an
event already applied has no second effect.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from shared.consumer import apply_event
from shared.events import Envelope, InvalidEnvelope
from shared.models import DeadLetter


class ReplayFailed(Exception):
    """The letter still cannot be applied (not an envelope, schema, or the handler raised); it stays pending."""

    def __init__(self, letter: DeadLetter, reason: str) -> None:
        super().__init__(f"dead letter #{letter.pk} ({letter.event_type or 'invalid message'}) still fails: {reason}")
        self.letter = letter
        self.reason = reason


def dead_letter_list_pending() -> QuerySet[DeadLetter]:
    """The letters not yet replayed, oldest first: the order ``dlq replay`` applies them in."""
    return DeadLetter.objects.filter(replayed_at__isnull=True).order_by("dead_lettered_at", "id")


@dataclass(frozen=True)
class Replayed:
    """What a replay did to one letter, as the command and the admin report it."""

    letter: DeadLetter
    # applied, duplicate (the inbox knew the event), skipped (no handler here), or DISCARDED
    outcome: str
    earlier: bool = False  # replayed (or discarded) before this call; nothing was done now

    def __str__(self) -> str:
        name = f"#{self.letter.pk} {self.letter.event_type or 'invalid message'}"
        if self.earlier and self.letter.replayed_at is not None:
            when = f"{self.letter.replayed_at:%Y-%m-%d %H:%M:%S}"
            return f"{name}: already replayed at {when} ({self.outcome}); nothing done"
        return f"{name}: {self.outcome}"


def dead_letter_replay(*, letter: DeadLetter) -> Replayed:
    """Applies one dead letter and stamps it replayed; raises :class:`ReplayFailed` if it still fails.

    Runs in one transaction holding the letter's row lock, so the effect, the inbox row and the
    stamp commit together, and two replays of one letter (two operators, the command and the
    admin) apply it once: a letter already replayed is left as it is.
    """
    with transaction.atomic():
        locked = DeadLetter.objects.select_for_update().get(pk=letter.pk)
        if locked.replayed_at is not None:
            return Replayed(locked, locked.replay_outcome, earlier=True)
        try:
            envelope = Envelope.from_json(locked.value)
            envelope.validate()
            outcome = apply_event(
                envelope,
                topic=locked.original_topic,
                partition=locked.original_partition,
                offset=locked.original_offset,
            )
        except Exception as exc:
            # Whatever the handler raised (a database error included: a deadlock or a serialization
            # failure is as much "still fails" as a bug) is the answer the operator gets from the
            # caller; apply_event's savepoint is rolled back and the letter stays pending.
            raise ReplayFailed(locked, str(exc) if isinstance(exc, InvalidEnvelope) else repr(exc)) from exc
        locked.replayed_at = timezone.now()
        locked.replay_outcome = outcome.value
        locked.save(update_fields=["replayed_at", "replay_outcome"])
    return Replayed(locked, outcome.value)


DISCARDED = "discarded"


def dead_letter_discard(*, letter: DeadLetter, by: str) -> Replayed:
    """Stamps a letter that can never be applied (e.g. a message that is not an event) as done, unapplied.

    It leaves ``dlq list`` and stops blocking ``dlq replay``; the row keeps the message and says who
    discarded it. A letter already replayed or discarded is left as it is.
    """
    with transaction.atomic():
        locked = DeadLetter.objects.select_for_update().get(pk=letter.pk)
        if locked.replayed_at is not None:
            return Replayed(locked, locked.replay_outcome, earlier=True)
        locked.replayed_at = timezone.now()
        locked.replay_outcome = DISCARDED
        locked.reason = f"{locked.reason}\n(discarded by {by}, never applied)"
        locked.save(update_fields=["replayed_at", "replay_outcome", "reason"])
    return Replayed(locked, DISCARDED)
