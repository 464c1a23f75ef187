"""Small process helpers shared by the provisioners and the supervisor."""

from __future__ import annotations

import os
import random
import signal
import socket
import time
from pathlib import Path


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# Ports handed out by free_port in this process: never twice, though none is bound until its process starts.
_handed_out: set[int] = set()
_LOWEST_PORT = 10000


def free_port() -> int:
    """A loopback port nothing uses now, never returned before by this process: bind it soon.

    Chosen below the kernel's ephemeral range (``ip_local_port_range``), where the kernel takes the local
    ports of outgoing connections: a port from that range (``bind(0)``) can be taken by any process's
    Kafka or Postgres connection between now and the bind, and stay taken for that connection's life
    (a stack's metrics port did, and its process crash-looped on "Address already in use").
    """
    lowest_ephemeral = _ephemeral_range()[0]
    candidates = range(_LOWEST_PORT, lowest_ephemeral) if lowest_ephemeral > _LOWEST_PORT + 1000 else None
    for _ in range(200):
        port = random.choice(candidates) if candidates else _any_port()  # noqa: S311 - spreads ports, no secret
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise OSError("no free loopback port found")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _any_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not alive for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().split()[0])  # postmaster.pid has more lines after the pid
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def stop_pid(pid: int, *, timeout: float = 15.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``; True when the process is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    time.sleep(0.2)
    return not pid_alive(pid)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
