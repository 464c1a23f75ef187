"""The stack's topology: each service's name, default ports, database and processes, and the topics.

(Named for what it holds: the services' business logic lives in each app's ``services.py``.)

Settings, the gateway's upstreams, ``manage_all.py`` and the tests all read
this table, so a port or a name is changed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


# The processes a service can run: gunicorn, ``run_grpc``, ``consume_events``, ``relay_outbox``.
PROCESS_KINDS: tuple[str, ...] = ("web", "grpc", "consumer", "relay")


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # "user", "product", ...
    http_port: int
    grpc_port: int | None  # the gateway has no gRPC server
    # Which of PROCESS_KINDS it runs; the gateway has no gRPC server and publishes no events (no relay).
    processes: tuple[str, ...] = PROCESS_KINDS

    def metrics_port(self, kind: str) -> int:
        """Where its ``kind`` process (not web: that serves /metrics on the HTTP port) serves /metrics."""
        return {
            "grpc": self.grpc_metrics_port,
            "consumer": self.consumer_metrics_port,
            "relay": self.relay_metrics_port,
        }[kind]

    @property
    def consumer_metrics_port(self) -> int:
        """Where its ``consume_events`` process serves /metrics (9100 for the gateway, 9101-9105 by service)."""
        return 9100 + self.http_port % 100

    @property
    def relay_metrics_port(self) -> int:
        """Where its ``relay_outbox`` process serves /metrics (9201-9205 by service)."""
        return 9200 + self.http_port % 100

    @property
    def grpc_metrics_port(self) -> int:
        """Where its ``run_grpc`` process serves /metrics (9301-9305 by service)."""
        return 9300 + self.http_port % 100

    @property
    def project(self) -> str:
        """The Django project folder and package, e.g. ``user_svc``."""
        return f"{self.name}_svc"

    @property
    def directory(self) -> Path:
        return REPO_ROOT / self.project

    @property
    def database(self) -> str:
        return f"shop_{self.name}"

    @property
    def env_prefix(self) -> str:
        """Prefix of this service's variables in a shared environment, e.g. ``USER_SVC_``."""
        return f"{self.name.upper()}_SVC_"


# The gateway consumes only to learn of revoked access tokens (shared.revocations).
GATEWAY = ServiceSpec("gateway", 8000, None, ("web", "consumer"))
USER = ServiceSpec("user", 8001, 50051)
PRODUCT = ServiceSpec("product", 8002, 50052)
ORDER = ServiceSpec("order", 8003, 50053)
INVENTORY = ServiceSpec("inventory", 8004, 50054)
PAYMENT = ServiceSpec("payment", 8005, 50055)

DOMAIN_SERVICES: tuple[ServiceSpec, ...] = (USER, PRODUCT, ORDER, INVENTORY, PAYMENT)
ALL_SERVICES: tuple[ServiceSpec, ...] = (GATEWAY, *DOMAIN_SERVICES)
BY_NAME: dict[str, ServiceSpec] = {spec.name: spec for spec in ALL_SERVICES}

# Kafka topics, one per aggregate; the message key is the aggregate id.
TOPICS: tuple[str, ...] = ("users", "products", "orders", "inventory", "payments")
TOPIC_PARTITIONS = 6
