from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from shared.env import env_str
from shared.grpc_server import create_server, mark_not_serving
from shared.loops import StopSignal
from shared.metrics import serve_metrics

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Serves this service's gRPC API and the standard health service until SIGTERM; metrics on METRICS_PORT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=env_str("GRPC_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=settings.GRPC_PORT)
        parser.add_argument("--grace", type=float, default=5.0, help="seconds in-flight calls get on shutdown")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = StopSignal().install()
        serve_metrics()
        server, port, health_servicer = create_server(host=options["host"], port=options["port"])
        server.start()
        logger.info("gRPC serving on %s:%s", options["host"], port)
        while not stop.wait(3600):
            pass
        mark_not_serving(health_servicer)
        server.stop(options["grace"]).wait()
        logger.info("gRPC server stopped")
