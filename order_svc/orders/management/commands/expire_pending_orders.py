from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from orders.services import EXPIRED_REASON, order_expire_pending


class Command(BaseCommand):
    help = (
        "Rejects pending orders older than --older-than seconds (default ORDER_PENDING_TIMEOUT_SECONDS) "
        f"with the reason '{EXPIRED_REASON}', once, and prints them. The consumer does this by itself "
        "every ORDER_EXPIRY_INTERVAL_SECONDS; this is for operators and tests. Safe beside running consumers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, default=None, metavar="SECONDS")
        parser.add_argument("--limit", type=int, default=1000, help="at most this many orders (default 1000)")

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = options["older_than"]
        if older_than is None:
            older_than = settings.ORDER_PENDING_TIMEOUT_SECONDS
        if older_than < 0 or options["limit"] < 1:
            raise CommandError("--older-than must be 0 or more seconds and --limit at least 1.")
        now = timezone.now()
        expired = order_expire_pending(older_than=timedelta(seconds=older_than), limit=options["limit"])
        for order in expired:
            age = int((now - order.created_at).total_seconds())
            self.stdout.write(f"{order.id}  placed {order.created_at:%Y-%m-%d %H:%M:%S}  ({age}s)  rejected")
        self.stdout.write(f"rejected {len(expired)} order(s) pending for over {older_than}s")
