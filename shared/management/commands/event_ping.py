from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from shared.events import PING, Envelope, publish
from shared.topology import TOPICS


class Command(BaseCommand):
    help = (
        "Writes a system.ping event to the outbox (the relay then publishes it); every consumer of the topic "
        "records it. Prints the event id, to look for in the consumers' inbox or logs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--topic", choices=TOPICS, required=True)
        parser.add_argument("--key", default="", help="message key (default: a new uuid)")

    def handle(self, *args: Any, **options: Any) -> None:
        envelope = Envelope(type=PING, key=options["key"] or str(uuid.uuid4()), payload={})
        with transaction.atomic():
            publish(envelope, topic=options["topic"])
        self.stdout.write(envelope.id)
