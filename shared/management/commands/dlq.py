from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shared.dead_letters import ReplayFailed, dead_letter_discard, dead_letter_list_pending, dead_letter_replay
from shared.models import DeadLetter


class Command(BaseCommand):
    help = (
        "This service's dead letters. `dlq list` shows those not yet replayed, oldest first, with why each "
        "failed; `dlq replay` applies them in that order through the handlers (after a fix) and stops at the "
        "first that still fails; `dlq replay --id N` replays one. Replaying twice is harmless: the inbox "
        "recognises applied events and a replayed letter is not replayed again. `dlq discard --id N` marks a "
        "letter that can never be applied (e.g. not an event) as done, unapplied, so it stops blocking replay."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "replay", "discard"])
        parser.add_argument("--limit", type=int, default=100, help="list: how many to show")
        parser.add_argument(
            "--id", type=int, dest="letter_id", help="replay: only this dead letter (its #id); discard: required"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list(options["limit"])
        elif options["action"] == "discard":
            self._discard(options["letter_id"])
        elif options["letter_id"] is not None:
            self._replay_one(options["letter_id"])
        else:
            self._replay_pending()

    def _list(self, limit: int) -> None:
        pending = dead_letter_list_pending()
        for letter in pending[:limit]:
            self.stdout.write(
                f"#{letter.pk}  {letter.dead_lettered_at:%Y-%m-%d %H:%M:%S}  {letter.event_type or '?':<24} "
                f"{letter.kind:<14} key={letter.key or '-'}  from {letter.original_topic}"
                f"[{letter.original_partition}]@{letter.original_offset}  attempts={letter.attempts}  {letter.reason}"
            )
        total = pending.count()
        if total > limit:
            self.stdout.write(f"... {total - limit} more after {limit}")
        self.stdout.write(f"{total} dead letter(s) pending")

    def _discard(self, letter_id: int | None) -> None:
        if letter_id is None:
            raise CommandError("dlq discard needs --id N (one letter at a time: `dlq list` shows their ids)")
        letter = DeadLetter.objects.filter(pk=letter_id).first()
        if letter is None:
            raise CommandError(f"no dead letter #{letter_id} in this service; `dlq list` shows the pending ones")
        self.stdout.write(str(dead_letter_discard(letter=letter, by="manage.py dlq discard")))

    def _replay_one(self, letter_id: int) -> None:
        letter = DeadLetter.objects.filter(pk=letter_id).first()
        if letter is None:
            raise CommandError(f"no dead letter #{letter_id} in this service; `dlq list` shows the pending ones")
        try:
            replayed = dead_letter_replay(letter=letter)
        except ReplayFailed as exc:
            raise CommandError(f"{exc}. Fix the cause and run replay again.") from exc
        self.stdout.write(str(replayed))

    def _replay_pending(self) -> None:
        count = 0
        for letter in dead_letter_list_pending():
            try:
                replayed = dead_letter_replay(letter=letter)
            except ReplayFailed as exc:
                raise CommandError(f"{exc}; {count} replayed before it. Fix the cause and run replay again.") from exc
            count += 1
            self.stdout.write(str(replayed))
        self.stdout.write(f"replayed {count} dead letter(s)")
