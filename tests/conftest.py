"""Cross-service tests: the whole stack as real processes (gunicorn, gRPC servers, consumers, relays).

The stack gets its own databases (``e2e_<service>``, recreated per run), free
ports and a Kafka topic prefix, so it never touches a running ``make up`` stack.
It uses the Postgres and Kafka that ``make test`` provisioned (or the ones the
environment names).
"""

from __future__ import annotations

import collections
import os
import re
import sys
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ops.isolated import Stack, start_stack  # noqa: E402
from ops.stack import ProcessSpec  # noqa: E402
from ops.supervisor import launch, read_state, shutdown  # noqa: E402
from tests.browser import REPORTS, browser, chromium_paths, steps  # noqa: E402, F401  (fixtures of the browser tests)

TRACEBACK = "Traceback (most recent call last)"


@dataclass
class Provoked:
    """What the tests did to the stack on purpose, so teardown can tell it from what went wrong by itself.

    A test that kills a stack process calls :meth:`restart` once per kill; a test that makes a process
    log a traceback (a fault it injects) calls :meth:`traceback` with a pattern the traceback matches.
    """

    restarts: collections.Counter[str] = field(default_factory=collections.Counter)
    tracebacks: list[re.Pattern[str]] = field(default_factory=list)

    def restart(self, process: str) -> None:
        self.restarts[process] += 1

    def traceback(self, pattern: str) -> None:
        self.tracebacks.append(re.compile(pattern))

    def unexpected_restarts(self, state: dict) -> dict[str, tuple[int, int]]:
        """``{process: (restarts, restarts the tests caused)}`` where the two differ."""
        counted = {name: int(entry.get("restarts", 0)) for name, entry in state.get("pids", {}).items()}
        return {
            name: (counted.get(name, 0), self.restarts[name])
            for name in sorted(set(counted) | set(self.restarts))
            if counted.get(name, 0) != self.restarts[name]
        }

    def unexpected_tracebacks(self, log_dir: Path) -> list[str]:
        """``"<log file>: <traceback>"`` for each traceback in the logs that no test provoked."""
        return [
            f"{name}: {text}"
            for name, text in tracebacks(log_dir)
            if not any(pattern.search(text) for pattern in self.tracebacks)
        ]


def tracebacks(log_dir: Path) -> list[tuple[str, str]]:
    """Every Python traceback in the stack's logs: a JSON log line with one in ``exc_info``, or a plain
    text one (say, from gunicorn) from its ``Traceback`` line to the exception line that ends it."""
    found = []
    for path in sorted(log_dir.glob("*.log")):
        lines = iter(path.read_text(errors="replace").splitlines())
        for line in lines:
            if TRACEBACK not in line:
                continue
            block = [line]
            if not line.lstrip().startswith("{"):
                for following in lines:
                    block.append(following)
                    if following[:1].strip():  # not indented: the exception itself
                        break
            found.append((path.name, "\n".join(block)))
    return found


@pytest.fixture(scope="session")
def provoked() -> Provoked:
    """Declare here the restarts and tracebacks a test causes on purpose (see :class:`Provoked`)."""
    return Provoked()


@pytest.fixture(scope="session")
def stack(provoked: Provoked) -> Iterator[Stack]:
    # Many tests sign in from 127.0.0.1 within a minute; the gateway's login limit has tests of its own.
    os.environ.setdefault("RATE_LIMIT_LOGIN", "1000/60")
    # Metrics for 127.0.0.1 only, so a client bound to 127.0.0.2 stands for another network
    # (tests/test_accounts_flow.py); the monitoring tests scrape from 127.0.0.1.
    os.environ.setdefault("METRICS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128")
    # Load shedding stays on, with a budget a starved 2-core CI runner does not reach by accident (the
    # races send 30 requests at once); shedding itself is tested with its own small budget
    # (tests/test_web_processes.py, shared/tests/test_load_shedding.py).
    os.environ.setdefault("WEB_QUEUE_BUDGET_SECONDS", "5")
    try:
        started = start_stack("e2e", topic_prefix=os.environ.get("KAFKA_TOPIC_PREFIX") or None)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield started
    # Nothing restarted and no traceback logged except what a test declared in ``provoked``.
    restarts = provoked.unexpected_restarts(read_state(started.state_file) or {})
    leftovers = started.stop()
    unexpected = provoked.unexpected_tracebacks(started.log_dir)
    assert not leftovers, f"still running after shutdown: {leftovers}"
    assert not restarts, f"supervisor restarts no test caused, as (restarts, caused by tests): {restarts}"
    assert not unexpected, f"tracebacks no test provoked in {started.log_dir}:\n" + "\n\n".join(unexpected)


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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keeps each phase's report on the test, for fixtures that act when it failed (tests.browser.steps)."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report
