from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from shared.consumer import EventConsumer
from shared.events import event_handlers
from shared.loops import StopSignal
from shared.metrics import serve_metrics


class Command(BaseCommand):
    help = "Runs this service's Kafka consumer group, on the topics of the events it handles, until SIGTERM."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = StopSignal().install()
        serve_metrics()
        handlers = event_handlers()
        EventConsumer(handlers.topics(), stop, handlers).run()
