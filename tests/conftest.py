"""Cross-service tests: the whole stack as real processes (gunicorn, gRPC servers, consumers, relays).

The stack gets its own databases (``e2e_<service>``, recreated per run), free
ports and a Kafka topic prefix, so it never touches a running ``make up`` stack.
It uses the Postgres and Kafka that ``make test`` provisioned (or the ones the
environment names).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ops.isolated import Stack, start_stack  # noqa: E402
from ops.stack import ProcessSpec  # noqa: E402
from ops.supervisor import launch, read_state, shutdown  # noqa: E402


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    # Many tests sign in from 127.0.0.1 within a minute; the gateway's login limit has tests of its own.
    os.environ.setdefault("RATE_LIMIT_LOGIN", "1000/60")
    # Metrics for 127.0.0.1 only, so a client bound to 127.0.0.2 stands for another network
    # (tests/test_accounts_flow.py); the monitoring tests scrape from 127.0.0.1.
    os.environ.setdefault("METRICS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128")
    try:
        started = start_stack("e2e", topic_prefix=os.environ.get("KAFKA_TOPIC_PREFIX") or None)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield started
    leftovers = started.stop()
    assert not leftovers, f"still running after shutdown: {leftovers}"


@pytest.fixture(scope="module")
def staff(stack: Stack) -> dict[str, str]:
    """The demo staff user's Authorization header (signed in once per module)."""
    from tests.shop import staff_headers

    return staff_headers(stack)


def child_pid(state_file: Path, name: str) -> int | None:
    state = read_state(state_file) or {}
    entry = state.get("pids", {}).get(name) or {}
    return entry.get("pid")


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Starts processes under a real ops.supervisor of their own; stops it after the test."""
    state_file = tmp_path / "run" / "stack.json"
    started: list[Path] = []

    def start(spec: ProcessSpec, **options: float) -> Path:
        launch([spec], state_file=state_file, log_dir=tmp_path / "logs", python=sys.executable, **options)
        started.append(state_file)
        return state_file

    yield start
    for state in started:
        assert shutdown(state)
