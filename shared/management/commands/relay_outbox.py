from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shared.loops import StopSignal
from shared.relay import OutboxRelay


class Command(BaseCommand):
    help = "Publishes the transactional outbox to Kafka until SIGTERM."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args: Any, **options: Any) -> None:
        OutboxRelay(StopSignal().install(), batch_size=options["batch_size"]).run()
