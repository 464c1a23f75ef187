from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shared.saga import local_stories, pending_orders


class Command(BaseCommand):
    help = (
        "This service's part of orders' saga stories, as JSON: the outbox events, inbox rows and dead letters "
        "keyed by each order, plus what this service's apps add (the order and its history, the reservation "
        "and its movements). With --stuck, the pending orders older than --older-than seconds (answered by the "
        "service that owns orders; others print null). `manage_all.py saga` merges every service's answer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("order_ids", nargs="*", metavar="ORDER_ID")
        parser.add_argument("--stuck", action="store_true", help="list pending orders instead")
        parser.add_argument("--older-than", type=float, default=60.0, metavar="SECONDS", help="with --stuck")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stuck"]:
            if options["order_ids"]:
                raise CommandError("give either order ids or --stuck, not both")
            if options["older_than"] < 0:
                raise CommandError("--older-than must be a number of seconds, 0 or more")
            pending = pending_orders(older_than=timedelta(seconds=options["older_than"]))
            self.stdout.write(json.dumps({"pending_orders": pending}))
            return
        if not options["order_ids"]:
            raise CommandError("give one or more order ids, or --stuck")
        self.stdout.write(json.dumps(local_stories(order_ids=[_order_id(value) for value in options["order_ids"]])))


def _order_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise CommandError(f"{value!r} is not an order id (a UUID)") from None
