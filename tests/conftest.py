"""Cross-service tests: the whole stack as real processes (gunicorn, gRPC servers, consumers, relays).

The stack gets its own databases (``e2e_<service>``, recreated per run), free
ports and a Kafka topic prefix, so it never touches a running ``make up`` stack.
It uses the Postgres and Kafka that ``make test`` provisioned (or the ones the
environment names).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ops import kafka, keys, postgres  # noqa: E402
from ops.health import grpc_serving, http_status  # noqa: E402
from ops.paths import VAR  # noqa: E402
from ops.procs import pid_alive  # noqa: E402
from ops.stack import Ports, ProcessSpec, manage_command, python, service_env, stack_processes  # noqa: E402
from ops.supervisor import launch, read_state, shutdown  # noqa: E402
from shared.services import ALL_SERVICES, BY_NAME, DOMAIN_SERVICES, TOPIC_PARTITIONS, TOPICS  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    postgres_url: str
    bootstrap: str
    topic_prefix: str
    ports: Ports
    databases: dict[str, str]
    processes: list[ProcessSpec]
    state_file: Path
    log_dir: Path

    def url(self, service: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports.http[service]}{path}"

    def env(self, service: str) -> dict[str, str]:
        return os.environ | service_env(
            BY_NAME[service],
            postgres_url=self.postgres_url,
            kafka=self.bootstrap,
            ports=self.ports,
            database=self.databases[service],
            topic_prefix=self.topic_prefix,
        )

    def manage(self, service: str, *args: str) -> str:
        result = subprocess.run(
            manage_command(BY_NAME[service], *args),
            env=self.env(service),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def database_url(self, service: str) -> str:
        return postgres.database_url(self.postgres_url, self.databases[service])

    def pid(self, name: str) -> int | None:
        state = read_state(self.state_file) or {}
        return (state.get("pids", {}).get(name) or {}).get("pid")

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")


def _ready(stack: Stack) -> bool:
    for process in stack.processes:
        if process.http_port and http_status(f"http://127.0.0.1:{process.http_port}/readyz", timeout=3) != 200:
            return False
        if process.grpc_port and not grpc_serving(f"127.0.0.1:{process.grpc_port}", timeout=2):
            return False
    return True


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    keys.ensure_dev_keys()
    server = postgres.ensure_server()
    broker = kafka.ensure_broker()
    prefix = os.environ.get("KAFKA_TOPIC_PREFIX") or f"e2e-{uuid.uuid4().hex[:8]}-"
    kafka.create_topics(broker.bootstrap, [prefix + topic for topic in TOPICS], TOPIC_PARTITIONS)
    databases = {spec.name: f"e2e_{spec.name}" for spec in ALL_SERVICES}
    postgres.recreate_databases(server.url, list(databases.values()))
    ports = Ports(
        http={spec.name: free_port() for spec in ALL_SERVICES},
        grpc={spec.name: free_port() for spec in ALL_SERVICES if spec.grpc_port},
        metrics={f"{spec.name}-{kind}": free_port() for spec in DOMAIN_SERVICES for kind in ("consumer", "relay")},
    )
    run_dir = VAR / "e2e" / time.strftime("%Y%m%d-%H%M%S")
    built = Stack(
        server.url,
        broker.bootstrap,
        prefix,
        ports,
        databases,
        stack_processes(
            postgres_url=server.url, kafka=broker.bootstrap, ports=ports, databases=databases, topic_prefix=prefix
        ),
        run_dir / "stack.json",
        run_dir / "log",
    )
    migrations = [
        subprocess.Popen(manage_command(spec, "migrate", "--noinput", "-v", "0"), env=built.env(spec.name))
        for spec in ALL_SERVICES
    ]
    assert all(process.wait(timeout=300) == 0 for process in migrations), "migrations failed"
    built.manage("product", "seed_demo")
    built.manage("user", "seed_demo")
    # Many tests sign in from 127.0.0.1 within a minute; the gateway's login limit has tests of its own.
    os.environ.setdefault("RATE_LIMIT_LOGIN", "1000/60")
    launch(built.processes, state_file=built.state_file, log_dir=built.log_dir, python=python())
    deadline = time.monotonic() + 120
    while not _ready(built):
        if time.monotonic() > deadline:
            shutdown(built.state_file)
            pytest.fail(f"the stack was not ready within 120s; logs in {built.log_dir}")
        time.sleep(0.3)
    pids = {process.name: built.pid(process.name) for process in built.processes}
    yield built
    pids |= {process.name: built.pid(process.name) for process in built.processes}
    assert shutdown(built.state_file), "the supervisor did not stop"
    leftovers = [name for name, pid in pids.items() if pid and pid_alive(pid)]
    assert not leftovers, f"still running after shutdown: {leftovers}"
