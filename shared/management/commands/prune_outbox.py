from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from shared.relay import prune


class Command(BaseCommand):
    help = (
        "Deletes sent outbox rows older than the retention (OUTBOX_RETENTION_HOURS); with --inbox, also inbox "
        "records older than INBOX_RETENTION_DAYS. Pending rows are never deleted. The relay runs this hourly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hours", type=float, default=None, help="outbox retention (default: the setting)")
        parser.add_argument("--inbox", action="store_true", help="prune the inbox too")
        parser.add_argument("--inbox-days", type=float, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        hours = options["hours"] if options["hours"] is not None else settings.OUTBOX_RETENTION_HOURS
        inbox_days = options["inbox_days"] if options["inbox_days"] is not None else settings.INBOX_RETENTION_DAYS
        outbox, inbox = prune(
            older_than=timedelta(hours=hours),
            inbox_older_than=timedelta(days=inbox_days) if options["inbox"] else None,
        )
        self.stdout.write(
            f"deleted {outbox} sent outbox rows" + (f" and {inbox} inbox records" if options["inbox"] else "")
        )
