#!/usr/bin/env python
"""One command line over all six services (run by the Makefile with the project's venv).

python manage_all.py up | down | status
python manage_all.py monitor                  (Prometheus on 127.0.0.1:9090 scraping the running stack)
python manage_all.py migrate | makemigrations --check | check | seed
python manage_all.py createsuperuser --service user
python manage_all.py shell --service order
python manage_all.py test [pytest args]     (what `make test` runs)
python manage_all.py saga ORDER_ID [--json] [--redrive]   (an order's story across the services; re-drive it)
python manage_all.py saga --stuck [--older-than SECONDS]  (pending orders older than that, default 60 s)
python manage_all.py check_consistency [--json] [--grace SECONDS]  (cross-service invariants; exit 1 if violated)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ops import kafka, keys, monitor, postgres
from ops.health import grpc_serving, http_status, wait_for
from ops.paths import LOG_DIR, RUN_DIR, ProvisionError
from ops.procs import pid_alive, stop_pid
from ops.stack import Ports, manage_command, python, service_env, stack_processes
from ops.supervisor import launch, read_state, shutdown, supervisor_pid
from shared.topology import ALL_SERVICES, BY_NAME, TOPIC_PARTITIONS, TOPICS, ServiceSpec

STATE_FILE = RUN_DIR / "stack.json"


def infra_up() -> tuple[str, str]:
    """Postgres with every service's database, Kafka with every topic; returns (postgres_url, bootstrap)."""
    if not os.environ.get("JWT_PUBLIC_KEY_PATH") and keys.ensure_dev_keys():
        print(f"jwt       created a development key pair in {keys.KEY_DIR}")
    server = postgres.ensure_server()
    created = postgres.ensure_databases(server.url, [spec.database for spec in ALL_SERVICES])
    print(
        f"postgres  {server.url.split('@')[-1]}  {'started' if server.started_here else 'running'}"
        + (f", created {', '.join(created)}" if created else "")
    )
    broker = kafka.ensure_broker()
    topics = kafka.create_topics(broker.bootstrap, list(TOPICS), TOPIC_PARTITIONS)
    print(
        f"kafka     {broker.bootstrap}  {'started' if broker.started_here else 'running'}"
        + (f", created topics {', '.join(topics)}" if topics else "")
    )
    return server.url, broker.bootstrap


def stack_env(postgres_url: str, bootstrap: str, spec: ServiceSpec) -> dict[str, str]:
    return os.environ | service_env(spec, postgres_url=postgres_url, kafka=bootstrap, ports=Ports.standard())


def run_manage(spec: ServiceSpec, args: list[str], env: dict[str, str], *, interactive: bool = False) -> int:
    if not interactive:
        print(f"[{spec.name}] manage.py {' '.join(args)}", flush=True)
    return subprocess.call(manage_command(spec, *args), env=env)


def for_each_service(args: list[str], *, services: list[ServiceSpec] | None = None) -> int:
    postgres_url, bootstrap = infra_up()
    failed = [
        spec.name
        for spec in services or list(ALL_SERVICES)
        if run_manage(spec, args, stack_env(postgres_url, bootstrap, spec)) != 0
    ]
    if failed:
        print(f"failed in: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def has_command(spec: ServiceSpec, command: str) -> bool:
    return any(spec.directory.glob(f"*/management/commands/{command}.py"))


def cmd_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    postgres_url, bootstrap = infra_up()
    for spec in ALL_SERVICES:
        env = stack_env(postgres_url, bootstrap, spec)
        if run_manage(spec, ["migrate", "--noinput", "-v", "0"], env) != 0:
            return 1
    if supervisor_pid(STATE_FILE) is not None:
        print("the services are already running (make down stops them)")
    else:
        processes = stack_processes(postgres_url=postgres_url, kafka=bootstrap, ports=Ports.standard())
        launch(processes, state_file=STATE_FILE, log_dir=LOG_DIR, python=python())
    ready = wait_for("ready", lambda: all_ready(quiet=True), timeout=90)
    # Seeding after the start: demo stock needs the stock rows inventory creates from product events.
    if ready and seed(postgres_url, bootstrap) != 0:
        return 1
    status_table()
    print(f"\n{'ready' if ready else 'NOT READY'} after {time.monotonic() - started:.0f}s; logs in {LOG_DIR}")
    print("\n  the shop (browser)  http://127.0.0.1:8000/")
    print("  gateway (REST API)  http://127.0.0.1:8000/api/v1/")
    for spec in ALL_SERVICES:
        print(f"  {spec.name:<9} admin      http://127.0.0.1:{spec.http_port}/admin/")
    print("  every admin: sign in as a staff user of the user service (demo: staff@example.com / demo-pass-123)")
    print("  an order's whole story: python manage_all.py saga ORDER_ID   (stuck ones: saga --stuck)")
    if ready and os.environ.get("MONITORING", "").lower() in {"1", "true", "yes"}:
        print()
        return cmd_monitor(args)
    return 0 if ready else 1


def seed(postgres_url: str, bootstrap: str) -> int:
    code = 0
    for spec in ALL_SERVICES:
        if has_command(spec, "seed_demo"):
            code |= run_manage(spec, ["seed_demo"], stack_env(postgres_url, bootstrap, spec))
    return code


def cmd_down(args: argparse.Namespace) -> int:
    state = read_state(STATE_FILE) or {}
    if shutdown(STATE_FILE):
        print("stopped the services")
    # A supervisor killed by hand leaves its children behind: stop them by their recorded pids.
    for name, info in (state.get("pids") or {}).items():
        if info.get("pid") and pid_alive(info["pid"]):
            stop_pid(info["pid"])
            print(f"stopped leftover {name} (pid {info['pid']})")
    STATE_FILE.unlink(missing_ok=True)
    if monitor.stop_local():
        print("stopped prometheus")
    if kafka.stop_local():
        print("stopped kafka")
    if postgres.stop_local():
        print("stopped postgres")
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """Prometheus on 127.0.0.1:9090 (LOCAL_PROMETHEUS_PORT) scraping every process of the `make up` stack."""
    state = read_state(STATE_FILE)
    if not state or supervisor_pid(STATE_FILE) is None:
        print("the services are not running: start them with `make up` (or `make up MONITORING=1`)", file=sys.stderr)
        return 1
    prometheus = monitor.default_prometheus()
    started = prometheus.start(monitor.stack_processes_from_state(state))
    print(f"prometheus {'started' if started else 'running, targets rewritten'}; log in {prometheus.log_file}")
    targets = prometheus.wait_until_targets_up(timeout=60)
    for line in monitor.describe_targets(targets):
        print(f"  {line}")
    healthy = bool(targets) and all(target["health"] == "up" for target in targets)
    print(f"\n{'every target is up' if healthy else 'NOT every target is up (see above)'}")
    print(f"  prometheus  {prometheus.url}/targets   alerts {prometheus.url}/alerts   (make down stops it)")
    return 0 if healthy else 1


def all_ready(*, quiet: bool = False) -> bool:
    state = read_state(STATE_FILE)
    if not state:
        return False
    for process in state["processes"]:
        if process["http_port"] and http_status(f"http://127.0.0.1:{process['http_port']}/readyz") != 200:
            return False
        if process["grpc_port"] and not grpc_serving(f"127.0.0.1:{process['grpc_port']}"):
            return False
    return True


def status_table() -> int:
    state = read_state(STATE_FILE)
    pid = supervisor_pid(STATE_FILE)
    print(f"{'postgres':<20} {'running' if postgres.local_running() else 'not running here'}")
    print(f"{'kafka':<20} {'running' if kafka.default_broker().pid() else 'not running here'}")
    if not state or pid is None:
        print(f"{'services':<20} not running (make up starts them)")
        return 3
    print(f"{'supervisor':<20} pid {pid}")
    healthy = True
    pids = state.get("pids", {})
    for process in state["processes"]:
        info = pids.get(process["name"], {})
        alive = bool(info.get("pid")) and pid_alive(info["pid"])
        health = "running" if alive else "DOWN"
        if process["http_port"]:
            base = f"http://127.0.0.1:{process['http_port']}"
            health = f"healthz {http_status(base + '/healthz')}, readyz {http_status(base + '/readyz')}  {base}"
        elif process["grpc_port"]:
            serving = grpc_serving(f"127.0.0.1:{process['grpc_port']}")
            health = f"grpc {'SERVING' if serving else 'NOT SERVING'}  127.0.0.1:{process['grpc_port']}"
        healthy &= alive
        restarts = f"restarts {info.get('restarts', 0)}"
        print(f"{process['name']:<20} pid {info.get('pid') or '-':<8} {restarts:<11} {health}")
    return 0 if healthy else 1


def cmd_status(args: argparse.Namespace) -> int:
    return status_table()


def cmd_migrate(args: argparse.Namespace) -> int:
    return for_each_service(["migrate", "--noinput"])


def cmd_makemigrations(args: argparse.Namespace) -> int:
    extra = ["--check", "--dry-run"] if args.check else []
    return for_each_service(["makemigrations", *extra])


def cmd_check(args: argparse.Namespace) -> int:
    return for_each_service(["check", *(["--deploy"] if args.deploy else [])])


def cmd_seed(args: argparse.Namespace) -> int:
    postgres_url, bootstrap = infra_up()
    return seed(postgres_url, bootstrap)


def cmd_interactive(args: argparse.Namespace) -> int:
    postgres_url, bootstrap = infra_up()
    spec = BY_NAME[args.service]
    return run_manage(spec, [args.command, *args.rest], stack_env(postgres_url, bootstrap, spec), interactive=True)


def running_env(spec: ServiceSpec) -> dict[str, str]:
    """The environment the running stack gives ``spec``'s processes (its database, Kafka, the others' ports)."""
    state = read_state(STATE_FILE) or {}
    for process in state.get("processes", []):
        if process["service"] == spec.name and process["kind"] == "relay":
            return os.environ | process["env"]
    raise ProvisionError(f"the {spec.name} service is not in {STATE_FILE}: start the stack with `make up`")


def cmd_saga(args: argparse.Namespace) -> int:
    """An order's saga story across the services (``--json``), re-driving it (``--redrive``), or the stuck ones."""
    from ops import saga

    if not read_state(STATE_FILE) or supervisor_pid(STATE_FILE) is None:
        print("the services are not running: start them with `make up`", file=sys.stderr)
        return 1
    return saga.run(
        order_id=args.order_id,
        stuck_only=args.stuck,
        older_than=args.older_than,
        as_json=args.json,
        redrive_it=args.redrive,
        env_for=running_env,
        out=sys.stdout,
        err=sys.stderr,
    )


def cmd_check_consistency(args: argparse.Namespace) -> int:
    """The cross-service invariants, read-only: exit 0 when they hold, 1 with the list of violations."""
    from ops import consistency

    if not read_state(STATE_FILE) or supervisor_pid(STATE_FILE) is None:
        print("the services are not running: start them with `make up`", file=sys.stderr)
        return 1
    return consistency.run(
        as_json=args.json, grace_seconds=args.grace, env_for=running_env, out=sys.stdout, err=sys.stderr
    )


def cmd_test(args: argparse.Namespace) -> int:
    from ops.testing import run_all

    return run_all(args.rest)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="provision, migrate, seed and start everything").set_defaults(func=cmd_up)
    commands.add_parser("down", help="stop everything `up` started").set_defaults(func=cmd_down)
    commands.add_parser("status", help="each process, its pid and health").set_defaults(func=cmd_status)
    commands.add_parser("monitor", help="Prometheus on 127.0.0.1:9090 scraping the running stack").set_defaults(
        func=cmd_monitor
    )
    commands.add_parser("migrate", help="migrate every service's database").set_defaults(func=cmd_migrate)
    make = commands.add_parser("makemigrations", help="makemigrations for every service")
    make.add_argument("--check", action="store_true", help="fail when a model change has no migration")
    make.set_defaults(func=cmd_makemigrations)
    check = commands.add_parser("check", help="Django's system checks for every service")
    check.add_argument("--deploy", action="store_true")
    check.set_defaults(func=cmd_check)
    commands.add_parser("seed", help="idempotent demo data (never in production)").set_defaults(func=cmd_seed)
    for name in ("createsuperuser", "shell", "dbshell"):
        sub = commands.add_parser(name, help=f"manage.py {name} in one service")
        sub.add_argument("--service", required=True, choices=sorted(BY_NAME))
        sub.set_defaults(func=cmd_interactive, passthrough=True)
    saga = commands.add_parser(
        "saga",
        help="an order's saga story across the services (--json, --redrive), or the stuck orders (--stuck)",
        description=(
            "ORDER_ID: the order's story oldest first (status history, each outbox's events, where each consumer "
            "applied them, the reservation and its movements, dead letters) and the step it waits on. --redrive "
            "re-publishes the event that step waits on, with the same event id (safe to repeat). --stuck lists "
            "pending orders older than --older-than seconds with the step each waits on. Exit 1 for an unknown "
            "order, 2 for a bad id."
        ),
    )
    saga.add_argument("order_id", nargs="?", metavar="ORDER_ID")
    saga.add_argument("--json", action="store_true", help="one JSON object (order, history, events, ...)")
    saga.add_argument("--redrive", action="store_true", help="re-publish the event the saga waits on")
    saga.add_argument("--stuck", action="store_true", help="list pending orders older than --older-than")
    saga.add_argument("--older-than", type=float, default=60.0, metavar="SECONDS", help="with --stuck (default 60)")
    saga.set_defaults(func=cmd_saga)
    consistent = commands.add_parser(
        "check_consistency",
        help="check the invariants that span the services (read-only); exit 1 with the violations",
        description=(
            "Asks every domain service for its facts (manage.py consistency_facts) and checks: each order's status "
            "against its reservation, reserved == the active reservations' lines, on_hand >= reserved >= 0, the "
            "ledger sums to the levels, the catalog's available == inventory's at the same stock version, one order "
            "per Idempotency-Key; reports each outbox's backlog and pending dead letters. Differences younger than "
            "--grace seconds are in flight and not judged. Never writes."
        ),
    )
    consistent.add_argument("--json", action="store_true", help="one JSON object (ok, violations, services, ...)")
    consistent.add_argument(
        "--grace", type=float, default=30.0, metavar="SECONDS", help="differences younger than this are in flight"
    )
    consistent.set_defaults(func=cmd_check_consistency)
    test = commands.add_parser("test", help="lint, then every test suite on real Postgres and Kafka")
    test.set_defaults(func=cmd_test, passthrough=True)
    # Options we don't know go to the command underneath (manage.py shell -c ..., pytest -k ...).
    args, rest = parser.parse_known_args()
    args.rest = rest
    if args.rest and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(args.rest)}")
    try:
        return int(args.func(args))
    except ProvisionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
