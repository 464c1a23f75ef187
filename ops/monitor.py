"""A local Prometheus that scrapes the running stack, with the same config as the containers.

``compose/prometheus/`` holds the one configuration (``prometheus.yml``, ``alerts.yml``).
Its scrape jobs find their targets in ``targets/*.json`` beside the config file: in
containers that is the committed ``targets/compose.json``; here :func:`write_config`
copies the two files byte for byte into a home folder (``var/prometheus`` for
``make monitor``) and writes ``targets/local.json`` from the stack's
:class:`~ops.stack.ProcessSpec` list. Prometheus itself comes from the distribution
(Debian's ``prometheus`` package, installed when missing and we are root) and runs
detached on 127.0.0.1, stopped by its pid like the local Kafka broker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ops import apt
from ops.paths import LOG_DIR, REPO_ROOT, RUN_DIR, VAR, ProvisionError
from ops.procs import pid_alive, port_open, read_pid, stop_pid, tail
from ops.stack import ProcessSpec

CONFIG_DIR = REPO_ROOT / "compose" / "prometheus"
CONFIG_FILES = ("prometheus.yml", "alerts.yml")
RULES_TEST = CONFIG_DIR / "alerts_test.yml"
LOCAL_TARGETS = "local.json"
HOME = VAR / "prometheus"
PID_FILE = RUN_DIR / "prometheus.pid"
LOG_FILE = LOG_DIR / "prometheus.log"


def local_port() -> int:
    return int(os.environ.get("LOCAL_PROMETHEUS_PORT", "9090"))


# --------------------------------------------------------------------------------------------
# The binaries


def find_binary(name: str) -> str | None:
    """``prometheus`` or ``promtool`` on PATH; installs Debian's package when missing and we are root.

    Returns None when it is missing and cannot be installed here (see :func:`require_binary`).
    """
    found = shutil.which(name)
    if found or not apt.can_install():
        return found
    apt.install(["prometheus"])
    return shutil.which(name)


def require_binary(name: str) -> str:
    """``prometheus`` or ``promtool``, installed when missing and we are root; ProvisionError says how otherwise."""
    found = find_binary(name)
    if not found:
        raise ProvisionError(
            f"{name} is not installed. Install it (as root: apt-get install --no-install-recommends prometheus, "
            "or a release from https://prometheus.io/download/ on PATH), then run this again."
        )
    return found


def prometheus_binary() -> str:
    return require_binary("prometheus")


def check_config() -> bool:
    """``promtool check config``, ``check rules`` and ``test rules`` on compose/prometheus; True when clean.

    A machine without promtool (and no way to install it) fails the check, with a note saying how
    to install it: the rules are never passed unchecked.
    """
    try:
        promtool = require_binary("promtool")
    except ProvisionError as exc:
        print(f"promtool checks FAILED, the Prometheus config and alert rules were not checked: {exc}", flush=True)
        return False
    ok = True
    for arguments in (
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", RULES_TEST.name],
    ):
        print(f"$ promtool {' '.join(arguments)}  (in {CONFIG_DIR.relative_to(REPO_ROOT)})", flush=True)
        ok &= subprocess.call([promtool, *arguments], cwd=CONFIG_DIR, stdin=subprocess.DEVNULL, timeout=120) == 0
    return ok


# --------------------------------------------------------------------------------------------
# The configuration


def scrape_port(process: ProcessSpec) -> int | None:
    """Where a process serves /metrics: a web process on its HTTP port, the others on METRICS_PORT."""
    return process.http_port if process.kind == "web" else process.metrics_port


def targets(processes: Iterable[ProcessSpec], *, prometheus_port: int) -> list[dict[str, Any]]:
    """file_sd target groups: one per process that serves metrics, plus Prometheus itself."""
    groups = [
        {"targets": [f"127.0.0.1:{port}"], "labels": {"service": process.service, "process": process.kind}}
        for process in processes
        if (port := scrape_port(process))
    ]
    groups.append(
        {"targets": [f"127.0.0.1:{prometheus_port}"], "labels": {"service": "prometheus", "process": "prometheus"}}
    )
    return groups


def write_config(home: Path, processes: Iterable[ProcessSpec], *, prometheus_port: int) -> Path:
    """Copies the config into ``home`` and writes ``home/targets/local.json``; returns the config file.

    The targets file is replaced atomically: a running Prometheus re-reads it on change.
    """
    (home / "targets").mkdir(parents=True, exist_ok=True)
    for name in CONFIG_FILES:
        shutil.copyfile(CONFIG_DIR / name, home / name)
    target_file = home / "targets" / LOCAL_TARGETS
    temporary = target_file.with_suffix(".tmp")
    groups = targets(processes, prometheus_port=prometheus_port)
    temporary.write_text("[\n" + ",\n".join(f"  {json.dumps(group)}" for group in groups) + "\n]\n")
    temporary.replace(target_file)
    return home / CONFIG_FILES[0]


def stack_processes_from_state(state: dict[str, Any]) -> list[ProcessSpec]:
    """The ProcessSpecs of a running stack, from its supervisor state file (ops.supervisor.read_state)."""
    return [ProcessSpec(**process) for process in state["processes"]]


# --------------------------------------------------------------------------------------------
# The server


@dataclass(frozen=True)
class LocalPrometheus:
    """One Prometheus on 127.0.0.1:``port``; ``home`` holds its config, targets and ``data`` (the TSDB).

    ``make monitor`` runs the default one (9090, ``var/prometheus``); tests start their own.
    """

    port: int
    home: Path
    log_file: Path
    pid_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def start(self, processes: Iterable[ProcessSpec], *, timeout: float = 60) -> bool:
        """Writes the config and targets, then starts Prometheus unless it runs; True when started here.

        A running one re-reads its targets by itself; it is asked to reload the copied config too.
        """
        config = write_config(self.home, processes, prometheus_port=self.port)
        if self.pid() is not None:
            self.reload()
            return False
        if port_open("127.0.0.1", self.port):
            raise ProvisionError(
                f"Port {self.port} is taken by another program, so Prometheus can't start here. "
                "Free the port or set LOCAL_PROMETHEUS_PORT."
            )
        binary = prometheus_binary()
        for folder in (self.home / "data", self.log_file.parent, self.pid_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.home / 'data'}",
                    "--storage.tsdb.retention.time=7d",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                ],
                cwd=self.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        self.wait_until_ready(timeout=timeout, pid=process.pid)
        return True

    def wait_until_ready(self, *, timeout: float, pid: int | None = None) -> None:
        """Waits for /-/ready; fails fast when the process exits (with its log's tail)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pid is not None and not pid_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise ProvisionError(
                    f"Prometheus exited while starting. Its log ({self.log_file}):\n{tail(self.log_file)}"
                )
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise ProvisionError(f"Prometheus at {self.url} was not ready within {timeout:.0f}s; log: {self.log_file}")

    def reload(self) -> None:
        httpx.post(f"{self.url}/-/reload", timeout=10).raise_for_status()

    def stop(self, *, timeout: float = 30) -> bool:
        """Stops it if it runs (SIGTERM: flushes the TSDB head); True when it was running."""
        pid = self.pid()
        if pid is None:
            return False
        stopped = stop_pid(pid, timeout=timeout)
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def api(self, path: str, **params: str) -> Any:
        answer = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        answer.raise_for_status()
        body = answer.json()
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus {path} {params}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result (a list of series; empty when nothing matched)."""
        data = self.api("query", query=expr)
        result = data["result"]
        return result if isinstance(result, list) else [result]

    def active_targets(self) -> list[dict[str, Any]]:
        return list(self.api("targets", state="active")["activeTargets"])

    def wait_until_targets_up(self, *, timeout: float = 60) -> list[dict[str, Any]]:
        """Polls /api/v1/targets until every active target is up (and at least one exists); returns the last list."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.active_targets()
            if found and all(target["health"] == "up" for target in found):
                return found
            if time.monotonic() > deadline:
                return found
            time.sleep(0.5)


def default_prometheus() -> LocalPrometheus:
    return LocalPrometheus(local_port(), HOME, LOG_FILE, PID_FILE)


def stop_local() -> bool:
    """Stops the ``make monitor`` Prometheus if it runs; True when it was running."""
    return default_prometheus().stop()


def describe_targets(found: list[dict[str, Any]]) -> list[str]:
    """One line per target: job, service/process, address, health and the last error."""
    lines = []
    for target in sorted(found, key=lambda t: (t["labels"].get("job", ""), t["labels"].get("instance", ""))):
        labels = target["labels"]
        service, process = labels.get("service", "?"), labels.get("process", "?")
        who = service if service == process else f"{service}-{process}"
        error = f"  ({target['lastError']})" if target.get("lastError") else ""
        lines.append(f"{labels.get('job', ''):<11} {who:<20} {target['scrapeUrl']:<36} {target['health']}{error}")
    return lines
