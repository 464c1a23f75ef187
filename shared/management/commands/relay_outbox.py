from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shared.loops import StopSignal
from shared.metrics import serve_metrics
from shared.relay import OutboxRelay


class Command(BaseCommand):
    help = "Publishes the transactional outbox to Kafka until SIGTERM (several may run: keys never interleave)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        stop = StopSignal().install()
        serve_metrics()
        OutboxRelay(stop, batch_size=options["batch_size"]).run()
