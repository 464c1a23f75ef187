"""Every long-running command stops cleanly on SIGTERM: it finishes, logs that it stopped, exits 0."""

from __future__ import annotations

import signal
import subprocess

import pytest

from ops.procs import free_port
from ops.stack import manage_command
from shared.testing import wait_until
from shared.topology import BY_NAME

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("command", "started", "stopped"),
    [
        ("run_grpc", "gRPC serving on", "gRPC server stopped"),
        ("consume_events", "consuming ", "consumer closed"),
        ("relay_outbox", "relaying the outbox", "relay stopped"),
    ],
)
def test_command_stops_cleanly_on_sigterm(stack, tmp_path, command, started, stopped):
    log = tmp_path / f"{command}.log"
    env = stack.env("order") | {"GRPC_PORT": str(free_port())}
    with log.open("wb") as output:
        process = subprocess.Popen(
            manage_command(BY_NAME["order"], command), env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: started in log.read_text(), timeout=60, what=f"{command} to start")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    assert stopped in log.read_text()
