"""A whole stack of its own (databases ``<name>_<service>``, free ports, a topic prefix), for tests and benchmarks.

It shares the Postgres server and Kafka broker with everything else but never
touches a running ``make up`` stack's databases, ports or topics; or, for runs that
stop them or charge their CPU (``make chaos``, ``make bench``), it runs over a private
server and broker (:func:`private_postgres`, :func:`private_kafka`).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ops import kafka, keys, postgres
from ops.health import grpc_serving, http_status
from ops.kafka import LocalBroker
from ops.paths import VAR
from ops.procs import free_port, pid_alive, port_open
from ops.stack import Ports, ProcessSpec, manage_command, python, service_env, stack_processes
from ops.supervisor import launch, read_state, shutdown
from shared.settings import test_database_suffix
from shared.topology import ALL_SERVICES, BY_NAME, TOPIC_PARTITIONS, TOPICS


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
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed in {service}:\n{result.stdout}{result.stderr}")
        return result.stdout

    def database_url(self, service: str) -> str:
        return postgres.database_url(self.postgres_url, self.databases[service])

    def pid(self, name: str) -> int | None:
        state = read_state(self.state_file) or {}
        return (state.get("pids", {}).get(name) or {}).get("pid")

    def pids(self) -> dict[str, int | None]:
        return {process.name: self.pid(process.name) for process in self.processes}

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def ready(self) -> bool:
        for process in self.processes:
            if process.http_port and http_status(f"http://127.0.0.1:{process.http_port}/readyz", timeout=3) != 200:
                return False
            if process.grpc_port and not grpc_serving(f"127.0.0.1:{process.grpc_port}", timeout=2):
                return False
        return True

    def stop(self) -> list[str]:
        """Stops every process; returns the names of any still alive afterwards (should be none)."""
        pids = self.pids()
        shutdown(self.state_file)
        return [name for name, pid in pids.items() if pid and pid_alive(pid)]


def start_stack(name: str, *, topic_prefix: str | None = None, timeout: float = 120) -> Stack:
    """Provisions, migrates, seeds and starts a stack called ``name``; raises when it is not ready in time."""
    keys.ensure_dev_keys()
    server = postgres.ensure_server()
    broker = kafka.ensure_broker()
    prefix = topic_prefix or f"{name}-{uuid.uuid4().hex[:8]}-"
    kafka.create_topics(broker.bootstrap, [prefix + topic for topic in TOPICS], TOPIC_PARTITIONS)
    databases = {spec.name: f"{name}{test_database_suffix()}_{spec.name}" for spec in ALL_SERVICES}
    postgres.recreate_databases(server.url, list(databases.values()))
    ports = Ports(
        http={spec.name: free_port() for spec in ALL_SERVICES},
        grpc={spec.name: free_port() for spec in ALL_SERVICES if spec.grpc_port},
        metrics={
            f"{spec.name}-{kind}": free_port() for spec in ALL_SERVICES for kind in spec.processes if kind != "web"
        },
    )
    run_dir = VAR / name / time.strftime("%Y%m%d-%H%M%S")
    stack = Stack(
        server.url,
        broker.bootstrap,
        prefix,
        ports,
        databases,
        stack_processes(
            postgres_url=server.url,
            kafka=broker.bootstrap,
            ports=ports,
            databases=databases,
            topic_prefix=prefix,
            web_metrics_dir=run_dir / "prometheus-multiproc",
        ),
        run_dir / "stack.json",
        run_dir / "log",
    )
    migrations = [
        subprocess.Popen(manage_command(spec, "migrate", "--noinput", "-v", "0"), env=stack.env(spec.name))
        for spec in ALL_SERVICES
    ]
    if not all(process.wait(timeout=300) == 0 for process in migrations):
        raise RuntimeError("migrations failed")
    launch(stack.processes, state_file=stack.state_file, log_dir=stack.log_dir, python=python())
    deadline = time.monotonic() + timeout
    while not stack.ready():
        if time.monotonic() > deadline:
            stack.stop()
            raise RuntimeError(f"the stack was not ready within {timeout:.0f}s; logs in {stack.log_dir}")
        time.sleep(0.3)
    # After the start, as `make up` does: demo stock needs the rows inventory creates from product events.
    try:
        for spec in ALL_SERVICES:
            if any(spec.directory.glob("*/management/commands/seed_demo.py")):
                stack.manage(spec.name, "seed_demo")
    except RuntimeError:
        stack.stop()
        raise
    return stack


@contextmanager
def private_postgres(home: Path) -> Iterator[str]:
    """A Postgres server of the run's own on a free port (its data in ``home``); stopped and kept on exit.

    :mod:`ops.postgres` runs one local server whose folder and port are module settings; this process
    points them at its own before starting it (it is the only user of that module here).
    """
    port = free_port()
    os.environ["LOCAL_POSTGRES_PORT"] = str(port)
    os.environ.pop("POSTGRES_URL", None)
    postgres.DATA_DIR = home
    postgres.LOG_FILE = home / "server.log"
    postgres.start_local()
    try:
        yield postgres.local_url()
    finally:
        postgres.stop_local()


@contextmanager
def private_kafka(home: Path) -> Iterator[LocalBroker]:
    port = next(p for p in iter(free_port, None) if not port_open("127.0.0.1", p + 1))
    broker = LocalBroker(port, home, home / "kafka.log", home / "kafka.pid")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
