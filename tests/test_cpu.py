"""ops.cpu: the CPU a benchmark charges to a process tree (live descendants and reaped children)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ops.cpu import cpu_snapshot, cpu_used, process_cpu_seconds, process_tree, tree_cpu_seconds
from shared.testing import wait_until

BUSY_SECONDS = 0.4
# /proc counts in clock ticks (1/100 s), so a reading may trail process_time() by a tick or two.
COUNTED = BUSY_SECONDS - 0.03
# Burns BUSY_SECONDS of CPU, then idles until killed.
BUSY = f"import time\nwhile time.process_time() < {BUSY_SECONDS}: pass\ntime.sleep(600)"
# Starts the busy child, prints its pid, reaps it when it dies, then idles.
PARENT = (
    "import subprocess, sys, time\n"
    f"child = subprocess.Popen([sys.executable, '-c', {BUSY!r}])\n"
    "print(child.pid, flush=True)\n"
    "child.wait()\n"
    "print('reaped', flush=True)\n"
    "time.sleep(600)"
)


@pytest.fixture
def parent() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    yield process
    process.kill()
    process.wait(timeout=10)


def test_a_busy_child_is_counted_in_its_parents_tree(parent: subprocess.Popen[str]) -> None:
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    wait_until(lambda: process_cpu_seconds(child) >= COUNTED, timeout=20, what="the child to burn its CPU")

    assert process_tree(parent.pid) == [parent.pid, child]
    assert process_cpu_seconds(parent.pid) < BUSY_SECONDS / 2  # the parent itself only waited
    assert tree_cpu_seconds(parent.pid) >= COUNTED
    os.kill(child, signal.SIGKILL)


def test_a_reaped_child_still_counts_through_its_parent(parent: subprocess.Popen[str]) -> None:
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    before = cpu_snapshot({"tree": parent.pid, "absent": None})
    wait_until(lambda: process_cpu_seconds(child) >= COUNTED, timeout=20, what="the child to burn its CPU")

    os.kill(child, signal.SIGKILL)
    assert parent.stdout.readline().strip() == "reaped"

    assert process_tree(parent.pid) == [parent.pid]
    used = cpu_used(before, cpu_snapshot({"tree": parent.pid, "absent": None}))
    assert used["tree"] >= COUNTED - before["tree"]
    assert used["absent"] == 0.0


def test_a_process_that_is_gone_counts_nothing() -> None:
    finished = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert finished.returncode == 0
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()

    assert process_cpu_seconds(gone.pid) == 0.0
    assert tree_cpu_seconds(gone.pid) == 0.0
