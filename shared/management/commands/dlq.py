from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shared.consumer import dlq_topic
from shared.dead_letters import mark_replayed, pending_letters, replay


class Command(BaseCommand):
    help = (
        "This service's dead letters. `dlq list` shows those not yet replayed, with why each failed; "
        "`dlq replay` applies them in order through the handlers (after a fix) and stops at the first that "
        "still fails. Replaying twice is harmless: the inbox recognises applied events."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "replay"])
        parser.add_argument("--limit", type=int, default=100, help="list: how many to show")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list(options["limit"])
        else:
            self._replay()

    def _list(self, limit: int) -> None:
        shown = 0
        for _, letter in pending_letters():
            if shown >= limit:
                self.stdout.write(f"... more after {limit}")
                break
            self.stdout.write(
                f"{letter.partition}:{letter.offset}  {letter.event_type or '?':<28} "
                f"from {letter.headers.get('original_topic')}[{letter.headers.get('original_partition')}]"
                f"@{letter.headers.get('original_offset')}  attempts={letter.headers.get('attempts')}  "
                f"{letter.error}"
            )
            shown += 1
        self.stdout.write(f"{shown} dead letter(s) pending in {dlq_topic()}")

    def _replay(self) -> None:
        replayed = 0
        for reader, letter in pending_letters():
            try:
                outcome = replay(letter)
            except Exception as exc:
                raise CommandError(
                    f"dead letter {letter.partition}:{letter.offset} ({letter.event_type}) still fails: {exc!r}; "
                    f"{replayed} replayed before it. Fix the cause and run replay again."
                ) from exc
            mark_replayed(reader, letter)
            replayed += 1
            self.stdout.write(f"{letter.partition}:{letter.offset} {letter.event_type}: {outcome.value}")
        self.stdout.write(f"replayed {replayed} dead letter(s)")
