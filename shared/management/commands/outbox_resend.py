from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shared.relay import ResendOutcome, outbox_resend


class Command(BaseCommand):
    help = (
        "Publishes an outbox event again, with the same event id: the row goes back to pending (attempts 0) and "
        "the relay sends it. Consumers that applied it already skip it (their inbox has the id), so this is safe "
        "to run twice. `manage_all.py saga ORDER_ID --redrive` runs it in the service that owns the event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event_id", metavar="EVENT_ID")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            event_id = uuid.UUID(options["event_id"])
        except ValueError:
            raise CommandError(f"{options['event_id']!r} is not an event id (a UUID)") from None
        resend = outbox_resend(event_id=event_id)
        where = f"the {settings.SERVICE_NAME} outbox"
        if resend.outcome is ResendOutcome.RESENT:
            self.stdout.write(f"{resend.event_type} {event_id} is pending again in {where}; the relay publishes it")
        elif resend.outcome is ResendOutcome.ALREADY_PENDING:
            self.stdout.write(
                f"{resend.event_type} {event_id} was never published: it is still pending in {where} "
                "(nothing changed; is the relay running? `manage.py outbox_status` shows why it fails)"
            )
        else:
            self.stdout.write(
                f"no event {event_id} in {where} (never written here, or pruned after OUTBOX_RETENTION_HOURS); "
                "nothing changed"
            )
