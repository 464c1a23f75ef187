from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count, Min
from django.utils import timezone

from shared.models import OutboxEvent


class Command(BaseCommand):
    help = "The outbox backlog: pending events, the oldest one's age, failures, by type."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        pending = OutboxEvent.objects.filter(sent_at__isnull=True)
        oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
        by_type = {row["event_type"]: row["n"] for row in pending.values("event_type").annotate(n=Count("id"))}
        last_failure = pending.exclude(last_error="").order_by("-id").values("event_type", "attempts", "last_error")
        status = {
            "pending": sum(by_type.values()),
            "oldest_pending_age_seconds": round((timezone.now() - oldest).total_seconds(), 3) if oldest else 0,
            "pending_by_type": by_type,
            "sent": OutboxEvent.objects.filter(sent_at__isnull=False).count(),
            "last_failure": last_failure.first(),
        }
        if options["json"]:
            self.stdout.write(json.dumps(status))
            return
        self.stdout.write(
            f"pending: {status['pending']}  oldest: {status['oldest_pending_age_seconds']}s  "
            f"sent (kept for retention): {status['sent']}"
        )
        for event_type, count in sorted(by_type.items()):
            self.stdout.write(f"  {event_type:<32} {count}")
        if status["last_failure"]:
            failure = status["last_failure"]
            self.stdout.write(f"last failure ({failure['attempts']} attempts): {failure['last_error']}")
