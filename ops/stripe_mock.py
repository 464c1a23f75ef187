"""Stripe's own API mock (stripe-mock) for the Stripe adapter's contract tests.

stripe-mock answers the Stripe API from Stripe's OpenAPI spec: it checks every request
against the spec (unknown parameters, a non-integer amount, a missing field are errors) and
answers with fixture objects. It does not simulate declines or state (a captured intent
still reads ``requires_payment_method``): declines are the sandbox provider's job.

The binary is built with ``go install`` the first time (Go is on every machine of ours; the
module comes from the Go module proxy) into ``var/cache/stripe-mock-<version>``, as the
Kafka jars are cached. A build that fails raises :class:`ProvisionError`: the contract tests
never skip for want of it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ops.paths import CACHE_DIR, LOG_DIR, ProvisionError
from ops.procs import stop_pid, tail

MODULE = "github.com/stripe/stripe-mock"
VERSION = "v0.203.0"
# A key in Stripe's test-key shape: stripe-mock checks the shape, not the key.
API_KEY = "sk_test_123"
LISTENING = re.compile(r"Listening for (HTTPS?) at address: 127\.0\.0\.1:(\d+)")


def go() -> str:
    found = shutil.which("go") or next((p for p in ("/usr/local/go/bin/go",) if Path(p).exists()), None)
    if not found:
        raise ProvisionError(
            f"Go is needed to build stripe-mock ({MODULE}@{VERSION}): install it (apt-get install golang-go)."
        )
    return found


def binary() -> Path:
    """stripe-mock's binary, built into ``var/cache`` the first time.

    ``go install`` writes into a fresh folder that is then renamed into place, so two test
    runs building at once never see half a binary.
    """
    folder = CACHE_DIR / f"stripe-mock-{VERSION}"
    built = folder / "stripe-mock"
    if built.exists():
        return built
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="stripe-mock-build-", dir=CACHE_DIR))
    print(f"building {MODULE}@{VERSION} with go install ...", flush=True)
    try:
        result = subprocess.run(
            [go(), "install", f"{MODULE}@{VERSION}"],
            env=os.environ | {"GOBIN": str(staging)},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0 or not (staging / "stripe-mock").exists():
            raise ProvisionError(
                f"go install {MODULE}@{VERSION} failed (is the Go module proxy reachable?):\n"
                + (result.stdout + result.stderr)[-3000:]
            )
        try:
            staging.rename(folder)
        except OSError:
            if not built.exists():  # not a concurrent build that got there first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return built


@dataclass(frozen=True)
class StripeMock:
    """One running stripe-mock on loopback; ``api_base`` is what ``STRIPE_API_BASE`` should say."""

    process: subprocess.Popen[bytes]
    http_port: int
    https_port: int
    log_file: Path

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self, *, timeout: float = 10) -> bool:
        """Stops it (SIGTERM, then SIGKILL) and reaps it; True when it is gone."""
        stopped = stop_pid(self.process.pid, timeout=timeout)
        self.process.wait(timeout=5)
        return stopped


def start(*, log_file: Path | None = None, timeout: float = 30) -> StripeMock:
    """Starts stripe-mock on ports the system picks (no race for a free port) and waits until it answers.

    It always serves HTTPS too; both listen on 127.0.0.1 only.
    """
    executable = binary()
    log_file = log_file or LOG_DIR / f"stripe-mock-{os.getpid()}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [str(executable), "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    try:
        ports: dict[str, int] = {}
        while len(ports) < 2:
            if process.poll() is not None:
                raise ProvisionError(f"stripe-mock exited while starting. Its log ({log_file}):\n{tail(log_file)}")
            if time.monotonic() > deadline:
                raise ProvisionError(f"stripe-mock named no ports within {timeout:.0f}s:\n{tail(log_file)}")
            ports = {scheme: int(port) for scheme, port in LISTENING.findall(log_file.read_text(errors="replace"))}
            time.sleep(0.1)
        mock = StripeMock(process, ports["HTTP"], ports["HTTPS"], log_file)
        wait_until_answers(mock.api_base, deadline=deadline)
    except BaseException:
        stop_pid(process.pid, timeout=5)
        process.wait(timeout=5)
        raise
    return mock


def wait_until_answers(api_base: str, *, deadline: float) -> None:
    last_error = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{api_base}/v1/balance", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=2)
        except httpx.HTTPError as exc:
            last_error = str(exc)
            time.sleep(0.2)
            continue
        if response.status_code != 200:
            raise ProvisionError(f"stripe-mock at {api_base} answered {response.status_code}: {response.text[:300]}")
        return
    raise ProvisionError(f"stripe-mock at {api_base} did not answer ({last_error}).")
