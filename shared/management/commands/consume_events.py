from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from shared.consumer import EventConsumer
from shared.loops import StopSignal
from shared.metrics import serve_metrics


class Command(BaseCommand):
    help = "Runs this service's Kafka consumer group (KAFKA_SUBSCRIPTIONS) until SIGTERM."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = StopSignal().install()
        serve_metrics()
        EventConsumer(settings.KAFKA_SUBSCRIPTIONS, stop).run()
