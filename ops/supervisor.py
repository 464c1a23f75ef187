"""Keeps the stack's processes running: ``python -m ops.supervisor STATE_FILE``.

Reads the process list from ``STATE_FILE`` (written by :func:`launch`), starts
every process with its output in ``<log_dir>/<name>.log``, restarts one that
dies (at once when it had run 10 s or more, else backing off up to 30 s), and on SIGTERM stops them all (SIGTERM, then
SIGKILL after a grace period) and exits. The state file is rewritten with
each process's pid and restart count, so ``status`` and ``down`` work by pid.

The supervisor owns the listening socket of every web process (as systemd's socket activation
does) and hands it to gunicorn as ``HTTP_LISTEN_FD``. The socket outlives the process: while a
killed web server restarts, the kernel keeps accepting connections into the socket's backlog and
the new server answers them, so clients see a slower answer instead of "connection refused".
A web process that keeps dying young has its socket closed once it backs off for 4 s or more
(its third quick death in a row): then clients are refused at once rather than left waiting for a
server that is not coming soon.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.procs import pid_alive, read_pid, stop_pid
from ops.stack import ProcessSpec

GRACE_SECONDS = 15.0
MAX_BACKOFF_SECONDS = 30.0
# A process that ran at least this long before dying is restarted at once.
STABLE_SECONDS = 10.0
# A web process backing off this long is crash-looping: its socket is closed until it starts again.
REFUSE_WHEN_BACKING_OFF_SECONDS = 4.0
# Connections the kernel queues on a web process's socket while nobody accepts them (a restart).
LISTEN_BACKLOG = 2048


@dataclass
class Child:
    spec: ProcessSpec
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    backoff: float = 1.0
    started_at: float = 0.0


class Supervisor:
    def __init__(self, state_file: Path) -> None:
        self.state_file = state_file
        state = json.loads(state_file.read_text())
        self.log_dir = Path(state["log_dir"])
        self.stable_seconds = float(state.get("stable_seconds", STABLE_SECONDS))
        self.children = [Child(ProcessSpec(**spec)) for spec in state["processes"]]
        self.sockets: dict[str, socket.socket] = {}  # by process name: the web processes' listening sockets
        self.stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        while not self.stopping:
            now = time.monotonic()
            changed = False
            for child in self.children:
                if child.process is not None and child.process.poll() is not None:
                    delay = self._restart_delay(child, ran=now - child.started_at)
                    self._log(f"{child.spec.name} exited with {child.process.returncode}; restarting in {delay:.0f}s")
                    self._kill_leftovers(child.process.pid)
                    if delay >= REFUSE_WHEN_BACKING_OFF_SECONDS:
                        # Crash-looping: refuse connections meanwhile rather than keep clients waiting.
                        self._close_listener(child.spec)
                    child.process = None
                    child.next_start = now + delay
                    child.restarts += 1
                    changed = True
                if child.process is None and now >= child.next_start:
                    self._start(child)
                    changed = True
            if changed:
                self._write_state()
            time.sleep(0.1)
        self._stop_all()

    def _restart_delay(self, child: Child, *, ran: float) -> float:
        """How long to wait before restarting ``child``, which died after running ``ran`` seconds.

        A process that ran stably comes back at once with its backoff reset, whatever it did
        before: the decision is taken after the reset, so an old crash loop is not held against
        it. One that keeps dying young waits 1, 2, 4, ... up to 30 s.
        """
        if ran >= self.stable_seconds:
            child.backoff = 1.0
            return 0.0
        delay = child.backoff
        child.backoff = min(child.backoff * 2, MAX_BACKOFF_SECONDS)
        return delay

    def _on_stop(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def _start(self, child: Child) -> None:
        env = os.environ | child.spec.env
        passed: tuple[int, ...] = ()
        if child.spec.kind == "web" and child.spec.http_port:
            try:
                listener = self._listener(child.spec)
            except OSError as exc:
                delay = self._restart_delay(child, ran=0.0)
                self._log(f"{child.spec.name}: cannot listen on {child.spec.http_port} ({exc}); again in {delay:.0f}s")
                child.next_start = time.monotonic() + delay
                return
            env["HTTP_LISTEN_FD"] = str(listener.fileno())
            passed = (listener.fileno(),)
        log = (self.log_dir / f"{child.spec.name}.log").open("ab")
        child.process = subprocess.Popen(
            child.spec.command,
            cwd=child.spec.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group, so whatever it leaves behind when it dies can be killed with it.
            start_new_session=True,
            pass_fds=passed,
        )
        log.close()
        child.started_at = time.monotonic()

    def _close_listener(self, spec: ProcessSpec) -> None:
        listener = self.sockets.pop(spec.name, None)
        if listener is not None:
            listener.close()

    def _listener(self, spec: ProcessSpec) -> socket.socket:
        """The listening socket of web process ``spec``, bound once and kept across its restarts."""
        listener = self.sockets.get(spec.name)
        if listener is None:
            host = spec.env.get("HTTP_HOST", "127.0.0.1")
            listener = socket.create_server((host, spec.http_port), backlog=LISTEN_BACKLOG)
            self.sockets[spec.name] = listener
        return listener

    def _kill_leftovers(self, pid: int) -> None:
        """Kills what is left of a dead child's process group before it is started again.

        A gunicorn master killed with SIGKILL leaves its workers running, still holding the
        listening socket: they would take requests nobody answers and keep the new master from
        binding. The workers also die with their master (``ops/gunicorn_conf.py``), this is the
        net for anything else a child started.
        """
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self._log(f"killed what was left of process group {pid}")

    def _stop_all(self) -> None:
        running = [child.process for child in self.children if child.process and child.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._log(f"pid {process.pid} ignored SIGTERM for {GRACE_SECONDS:.0f}s; killing it")
                process.kill()
                process.wait()
        for listener in self.sockets.values():
            listener.close()
        self.state_file.unlink(missing_ok=True)

    def _write_state(self) -> None:
        state = json.loads(self.state_file.read_text())
        state["supervisor_pid"] = os.getpid()
        state["pids"] = {
            child.spec.name: {"pid": child.process.pid if child.process else None, "restarts": child.restarts}
            for child in self.children
        }
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=1))
        temporary.replace(self.state_file)

    def _log(self, message: str) -> None:
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} supervisor: {message}", flush=True)


def launch(
    processes: list[ProcessSpec],
    *,
    state_file: Path,
    log_dir: Path,
    python: str,
    stable_seconds: float = STABLE_SECONDS,
) -> int:
    """Starts a detached supervisor for ``processes``; returns its pid.

    ``stable_seconds``: how long a process must have run to be restarted at once when it dies.
    """
    state_file.parent.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    state_file.write_text(
        json.dumps(
            {
                "log_dir": str(log_dir),
                "stable_seconds": stable_seconds,
                "processes": [p.to_json() for p in processes],
            },
            indent=1,
        )
    )
    with (log_dir / "supervisor.log").open("ab") as log:
        supervisor = subprocess.Popen(
            [python, "-m", "ops.supervisor", str(state_file)],
            cwd=str(Path(__file__).resolve().parent.parent),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (state_file.parent / f"{state_file.stem}.pid").write_text(str(supervisor.pid))
    return supervisor.pid


def supervisor_pid(state_file: Path) -> int | None:
    return read_pid(state_file.parent / f"{state_file.stem}.pid")


def shutdown(state_file: Path) -> bool:
    """Stops the supervisor (and so every process it runs); True when one was running."""
    pid = supervisor_pid(state_file)
    if pid is None:
        return False
    stop_pid(pid, timeout=GRACE_SECONDS + 10)
    (state_file.parent / f"{state_file.stem}.pid").unlink(missing_ok=True)
    return not pid_alive(pid)


def read_state(state_file: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(state_file.read_text()))
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    Supervisor(Path(sys.argv[1])).run()
