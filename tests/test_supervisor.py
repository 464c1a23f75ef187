"""ops.supervisor with real child processes: how soon a dead process comes back."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from ops.isolated import free_port
from ops.procs import pid_alive
from ops.stack import Ports, ProcessSpec, stack_processes
from ops.supervisor import launch, read_state, shutdown
from shared.testing import wait_until

# Dies at once for its first three runs (a crash loop: backoff 1 + 2 + 4 s), then runs until killed.
FLAKY_THEN_STABLE = """
import pathlib, sys, time
runs = pathlib.Path(sys.argv[1])
count = int(runs.read_text() or 0) + 1 if runs.exists() else 1
runs.write_text(str(count))
if count <= 3:
    sys.exit(3)
time.sleep(3600)
"""


def child_pid(state_file: Path, name: str) -> int | None:
    state = read_state(state_file) or {}
    entry = state.get("pids", {}).get(name) or {}
    return entry.get("pid")


@pytest.fixture
def supervised(tmp_path: Path):
    state_file = tmp_path / "run" / "stack.json"
    started: list[Path] = []

    def start(spec: ProcessSpec) -> Path:
        launch([spec], state_file=state_file, log_dir=tmp_path / "logs", python=sys.executable)
        started.append(state_file)
        return state_file

    yield start
    for state in started:
        assert shutdown(state)


def test_process_that_ran_stably_restarts_within_a_second_after_an_earlier_crash_loop(tmp_path, supervised):
    runs = tmp_path / "runs"
    spec = ProcessSpec(
        name="flaky", service="none", kind="test", command=[sys.executable, "-c", FLAKY_THEN_STABLE, str(runs)], cwd="."
    )
    state_file = supervised(spec)
    wait_until(lambda: runs.exists() and runs.read_text() == "4", timeout=30, what="the crash loop to end")
    stable_pid = wait_until(lambda: child_pid(state_file, "flaky"), timeout=5, what="the stable run's pid")
    time.sleep(10.5)  # the process must have run 10 s to count as stable; nothing to poll for here

    os.kill(stable_pid, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(lambda: runs.read_text() == "5", timeout=10, what="the restart")

    assert time.monotonic() - killed_at < 1.0
    assert json.loads(state_file.read_text())["pids"]["flaky"]["restarts"] == 4


def test_process_that_keeps_dying_young_backs_off(supervised):
    spec = ProcessSpec(
        name="crasher", service="none", kind="test", command=[sys.executable, "-c", "raise SystemExit(3)"], cwd="."
    )
    state_file = supervised(spec)
    # Backoff 1, 2, 4 s: the fourth death comes about 7 s after the first start, never within 5 s.
    wait_until(lambda: (read_state(state_file) or {}).get("pids"), timeout=5, what="the first start")
    first = time.monotonic()
    wait_until(
        lambda: (read_state(state_file) or {})["pids"]["crasher"]["restarts"] >= 4, timeout=20, what="4 restarts"
    )
    assert time.monotonic() - first >= 5.0


def web_process(service: str, tmp_path: Path) -> ProcessSpec:
    """The stack's own web process of ``service`` on a free port, without the rest of the stack."""
    ports = Ports.standard()
    ports.http[service] = free_port()
    spec = next(
        process
        for process in stack_processes(
            postgres_url=os.environ.get("POSTGRES_URL", "postgresql://shop:shop@127.0.0.1:5432"),
            kafka=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            ports=ports,
            web_metrics_dir=tmp_path / "metrics",
        )
        if process.name == f"{service}-web"
    )
    return dataclasses.replace(spec, env=spec.env | {"WEB_CONCURRENCY": "2"})


def answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def children_of(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_sigkill_of_a_gunicorn_master_takes_its_workers_and_the_service_answers_again(tmp_path, supervised):
    spec = web_process("product", tmp_path)
    state_file = supervised(spec)
    port = spec.http_port
    assert port is not None
    wait_until(lambda: answers(port), timeout=60, what="the web process to answer")
    master = child_pid(state_file, spec.name)
    assert master is not None
    workers = wait_until(lambda: len(children_of(master)) == 2 and children_of(master), timeout=30, what="2 workers")

    # Requests in flight when the master dies: an orphaned worker would wait for them, socket held.
    in_flight = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    for connection in in_flight:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")

    os.kill(master, signal.SIGKILL)
    killed_at = time.monotonic()

    wait_until(lambda: not any(pid_alive(worker) for worker in workers), timeout=2, what="the workers to die")
    wait_until(lambda: answers(port), timeout=5, what="the new master to answer")
    assert time.monotonic() - killed_at < 5.0
    assert child_pid(state_file, spec.name) != master
    for connection in in_flight:
        connection.close()
