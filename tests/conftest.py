"""Cross-service tests: the whole stack as real processes (gunicorn, gRPC servers, consumers, relays).

The stack gets its own databases (``e2e_<service>``, recreated per run), free
ports and a Kafka topic prefix, so it never touches a running ``make up`` stack.
It uses the Postgres and Kafka that ``make test`` provisioned (or the ones the
environment names).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ops.isolated import Stack, start_stack  # noqa: E402


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
