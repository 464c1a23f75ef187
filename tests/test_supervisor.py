"""ops.supervisor with real child processes: how soon a dead process comes back."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from ops.procs import free_port, port_open
from ops.stack import ProcessSpec
from ops.supervisor import read_state
from shared.testing import wait_until
from tests.conftest import child_pid

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


def test_process_that_ran_stably_restarts_within_a_second_after_an_earlier_crash_loop(tmp_path, supervised):
    runs = tmp_path / "runs"
    spec = ProcessSpec(
        name="flaky", service="none", kind="test", command=[sys.executable, "-c", FLAKY_THEN_STABLE, str(runs)], cwd="."
    )
    state_file = supervised(spec, stable_seconds=2.0)
    wait_until(lambda: runs.exists() and runs.read_text() == "4", timeout=30, what="the crash loop to end")
    stable_pid = wait_until(lambda: child_pid(state_file, "flaky"), timeout=5, what="the stable run's pid")
    time.sleep(2.5)  # the process must have run 2 s (stable_seconds) to count as stable; nothing to poll for

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


def test_a_crash_looping_web_process_has_its_port_closed_so_clients_are_refused_at_once(supervised):
    port = free_port()
    spec = ProcessSpec(
        name="crashing-web",
        service="none",
        kind="web",
        command=[sys.executable, "-c", "import time; time.sleep(0.3); raise SystemExit(3)"],
        cwd=".",
        http_port=port,
    )
    state_file = supervised(spec)
    wait_until(lambda: port_open("127.0.0.1", port), timeout=5, what="the supervisor to listen for it")
    wait_until(
        lambda: (read_state(state_file) or {}).get("pids", {}).get("crashing-web", {}).get("restarts", 0) >= 2,
        timeout=10,
        interval=0.02,
        what="the second death",
    )
    assert port_open("127.0.0.1", port)  # backing off 2 s: a restart soon, connections wait for it
    wait_until(
        lambda: (read_state(state_file) or {})["pids"]["crashing-web"]["restarts"] >= 3,
        timeout=10,
        interval=0.02,
        what="the third death",
    )

    assert not port_open("127.0.0.1", port)  # backing off 4 s: crash-looping, refused at once
