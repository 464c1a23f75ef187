"""Schemathesis over the gateway's merged OpenAPI document: the API does what its schema says, for staff and customers.

Every check schemathesis has (no 5xx, every status and body documented, schema-valid requests accepted,
schema-invalid ones refused, 405 for undocumented methods, 401 without a token, ...), all its phases
(coverage, fuzzing, stateful) and a bounded number of examples per operation, once with a staff token
and once with a customer's. ``tests/schemathesis.toml`` holds the settings and the few exceptions, each
with its reason.

Schemathesis reuses ids from list answers and cancels, ships, deletes and deactivates what it finds, so
the run gets a stack of its own (``start_stack("st")``, its own databases and topics), never the one the
other cross-service tests share. Its gateway allows far more requests a minute than the defaults, so
no answer is a rate limit's 429 instead of the operation's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ops.isolated import Stack, start_stack
from tests.shop import customer, register, sign_in, staff_headers

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("st")
GENEROUS_LIMITS = {"RATE_LIMIT_DEFAULT": "100000/60", "RATE_LIMIT_LOGIN": "100000/60"}
RUN_TIMEOUT_SECONDS = 150


@pytest.fixture(scope="module")
def own_stack() -> Iterator[Stack]:
    saved = {name: os.environ.get(name) for name in GENEROUS_LIMITS}
    os.environ.update(GENEROUS_LIMITS)  # read by the stack's processes when they start, and only by them
    try:
        started = start_stack("st")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    yield started
    leftovers = started.stop()
    assert not leftovers, f"still running after shutdown: {leftovers}"


def staff_caller(stack: Stack) -> dict[str, str]:
    """A new user, made staff by the demo staff user: schemathesis may deactivate any other account."""
    user_id, email = register(stack, "schemathesis-staff")
    demo_staff = staff_headers(stack)
    promoted = httpx.patch(
        stack.url("gateway", f"/api/v1/users/{user_id}"),
        json={"role": "staff"},
        headers=demo_staff,
        timeout=10,
    )
    assert promoted.status_code == 200, promoted.text
    return sign_in(stack, email)


def run_schemathesis(stack: Stack, headers: dict[str, str], report: Path) -> subprocess.CompletedProcess[str]:
    gateway = stack.url("gateway")
    token = headers["Authorization"].removeprefix("Bearer ")
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "run",
            f"{gateway}/api/schema?format=json",
            "--url",
            gateway,
            "--checks",
            "all",
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
        ],
        env=os.environ | {"SCHEMATHESIS_ACCESS_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )


def documented_operations(stack: Stack) -> set[str]:
    answer = httpx.get(stack.url("gateway", "/api/schema"), params={"format": "json"}, timeout=30)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert not document["x-missing-services"], document["x-missing-services"]
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    }


def operations_in_report(report: Path) -> set[str]:
    root = ET.parse(report).getroot()  # noqa: S314 - the report schemathesis just wrote
    return {case.get("name", "") for case in root.iter("testcase")}


@pytest.mark.parametrize("role", ["customer", "staff"])
def test_schemathesis_finds_nothing_wrong_with_any_operation(own_stack: Stack, role: str, tmp_path: Path) -> None:
    headers = customer(own_stack) if role == "customer" else staff_caller(own_stack)
    operations = documented_operations(own_stack)

    result = run_schemathesis(own_stack, headers, tmp_path / "junit.xml")

    output = result.stdout + result.stderr
    assert result.returncode == 0, f"schemathesis as {role} failed (exit {result.returncode}):\n{output[-20_000:]}"
    assert len(operations) >= 29, sorted(operations)
    assert operations <= operations_in_report(tmp_path / "junit.xml"), output[-5_000:]
