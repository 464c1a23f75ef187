"""The one table of services: names, default ports and databases.

Settings, the gateway's upstreams, ``manage_all.py`` and the tests all read
this table, so a port or a name is changed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # "user", "product", ...
    http_port: int
    grpc_port: int | None  # the gateway has no gRPC server

    @property
    def consumer_metrics_port(self) -> int:
        """Where its ``consume_events`` process serves /metrics (9101-9104 by service)."""
        return 9100 + self.http_port % 100

    @property
    def relay_metrics_port(self) -> int:
        """Where its ``relay_outbox`` process serves /metrics (9201-9204 by service)."""
        return 9200 + self.http_port % 100

    @property
    def grpc_metrics_port(self) -> int:
        """Where its ``run_grpc`` process serves /metrics (9301-9304 by service)."""
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


GATEWAY = ServiceSpec("gateway", 8000, None)
USER = ServiceSpec("user", 8001, 50051)
PRODUCT = ServiceSpec("product", 8002, 50052)
ORDER = ServiceSpec("order", 8003, 50053)
INVENTORY = ServiceSpec("inventory", 8004, 50054)

DOMAIN_SERVICES: tuple[ServiceSpec, ...] = (USER, PRODUCT, ORDER, INVENTORY)
ALL_SERVICES: tuple[ServiceSpec, ...] = (GATEWAY, *DOMAIN_SERVICES)
BY_NAME: dict[str, ServiceSpec] = {spec.name: spec for spec in ALL_SERVICES}

# Kafka topics, one per aggregate; the message key is the aggregate id.
TOPICS: tuple[str, ...] = ("users", "products", "orders", "inventory")
TOPIC_PARTITIONS = 6
