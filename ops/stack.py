"""The processes of the whole stack and the environment each one gets.

``make up`` runs them on the standard ports; the end-to-end tests run the same
list on free ports against their own databases and topic prefix.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ops.paths import REPO_ROOT, VAR, VENV_PYTHON
from shared.topology import ALL_SERVICES, ServiceSpec

# The management command each non-web process kind runs.
COMMANDS = {"grpc": "run_grpc", "consumer": "consume_events", "relay": "relay_outbox"}
# gunicorn's workers write their metrics here, one folder per service (PROMETHEUS_MULTIPROC_DIR).
WEB_METRICS_DIR = VAR / "prometheus-multiproc"


@dataclass(frozen=True)
class Ports:
    http: dict[str, int]
    grpc: dict[str, int]
    metrics: dict[str, int] = field(default_factory=dict)  # by process name, e.g. "order-grpc", "order-consumer"

    @classmethod
    def standard(cls) -> Ports:
        return cls(
            http={spec.name: spec.http_port for spec in ALL_SERVICES},
            grpc={spec.name: spec.grpc_port for spec in ALL_SERVICES if spec.grpc_port},
            metrics={
                f"{spec.name}-{kind}": spec.metrics_port(kind)
                for spec in ALL_SERVICES
                for kind in spec.processes
                if kind != "web"
            },
        )


@dataclass(frozen=True)
class ProcessSpec:
    name: str  # e.g. "order-consumer"
    service: str
    kind: str
    command: list[str]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)  # added to the supervisor's environment
    http_port: int | None = None
    grpc_port: int | None = None
    metrics_port: int | None = None  # the gRPC server's, consumer's and relay's own /metrics

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def python() -> str:
    return str(VENV_PYTHON) if VENV_PYTHON.exists() else os.environ.get("PYTHON", "python3")


def service_env(
    spec: ServiceSpec,
    *,
    postgres_url: str,
    kafka: str,
    ports: Ports,
    database: str | None = None,
    topic_prefix: str = "",
) -> dict[str, str]:
    """What a process of ``spec`` needs to find its database, Kafka and the other services."""
    env = {
        # Explicit, so a DJANGO_SETTINGS_MODULE left in the caller's environment can't leak across services.
        "DJANGO_SETTINGS_MODULE": f"{spec.project}.settings",
        "DATABASE_URL": f"{postgres_url.rstrip('/')}/{database or spec.database}",
        "POSTGRES_URL": postgres_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
        "HTTP_PORT": str(ports.http[spec.name]),
    }
    if spec.name in ports.grpc:
        env["GRPC_PORT"] = str(ports.grpc[spec.name])
    if spec.name != "gateway":
        # Behind the gateway, the client is the last X-Forwarded-For hop (shared.client_ip).
        env["TRUSTED_PROXY_COUNT"] = "1"
    for other in ALL_SERVICES:
        env[f"{other.env_prefix}URL"] = f"http://127.0.0.1:{ports.http[other.name]}"
        if other.name in ports.grpc:
            env[f"{other.env_prefix}GRPC"] = f"127.0.0.1:{ports.grpc[other.name]}"
    return env


def manage_command(spec: ServiceSpec, *args: str) -> list[str]:
    return [python(), str(spec.directory / "manage.py"), *args]


def stack_processes(
    *,
    postgres_url: str,
    kafka: str,
    ports: Ports,
    databases: dict[str, str] | None = None,
    topic_prefix: str = "",
    web_metrics_dir: Path = WEB_METRICS_DIR,
) -> list[ProcessSpec]:
    """Every process of the stack. ``web_metrics_dir``: a folder of this stack's own (gunicorn empties
    ``<web_metrics_dir>/<service>`` when it starts, so two stacks must not share it)."""
    processes = []
    for spec in ALL_SERVICES:
        env = service_env(
            spec,
            postgres_url=postgres_url,
            kafka=kafka,
            ports=ports,
            database=(databases or {}).get(spec.name),
            topic_prefix=topic_prefix,
        )
        web = [
            python(),
            "-m",
            "gunicorn",
            "-c",
            str(REPO_ROOT / "ops" / "gunicorn_conf.py"),
            "--chdir",
            str(spec.directory),
            f"{spec.project}.wsgi",
        ]
        http_port = ports.http[spec.name]
        # Only the web process runs several workers, so only it adds up their metrics through files.
        web_env = env | {"PROMETHEUS_MULTIPROC_DIR": str(web_metrics_dir / spec.name)}
        processes.append(ProcessSpec(f"{spec.name}-web", spec.name, "web", web, str(REPO_ROOT), web_env, http_port))
        for kind in spec.processes:
            if kind == "web":
                continue
            name = f"{spec.name}-{kind}"
            metrics_port = ports.metrics.get(name)
            processes.append(
                ProcessSpec(
                    name,
                    spec.name,
                    kind,
                    manage_command(spec, COMMANDS[kind]),
                    str(REPO_ROOT),
                    env | ({"METRICS_PORT": str(metrics_port)} if metrics_port else {}),
                    grpc_port=ports.grpc[spec.name] if kind == "grpc" else None,
                    metrics_port=metrics_port,
                )
            )
    return processes
