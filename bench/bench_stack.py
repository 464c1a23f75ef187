"""The whole order platform measured black-box in one run (``make bench``; ``make bench-quick`` for a short one).

On a stack like ``make up``'s (``ops.isolated.start_stack``: every service's web, gRPC, consumer and
relay processes, the gateway's rate limits raised so the run measures the system, not the limiter)
over a PRIVATE Postgres server and Kafka broker (free loopback ports), so the CPU charged to them is
this run's alone. Phases, in order:

1. CPU per order: ``--orders`` one-line orders through the gateway by ``--customers`` customers, each
   placing its share back to back; the run watches the order database until all are settled (no API
   polling competes with the saga). CPU (utime+stime of every process tree, incl. gunicorn workers and
   reaped children: ``ops.cpu``) of each stack process, Postgres and Kafka is read before and after,
   and turned into the capacity model (orders/s per core for each kind of process). A poll-only phase
   then measures what one ``GET /orders/{id}`` costs each process (above the idle rate), on its own.
2. Settled orders/s: from the first POST to the last order settled (its status history).
3. pgbench TPS (``-N -c8 -j2``) on a scratch database of the same Postgres server, and settled/s
   as a share of it.
4. POST -> confirmed p50/p99 at a steady 70 % of the settled/s of step 2 (from when each POST was due
   to its ``confirmed`` history row; ``open_loop`` sends them from one event loop, and its own lag is
   reported beside).
5. Product-list reads through the gateway and direct to product_svc (``bench_orders``'s phases):
   latency median/p99, reads/s, ratio and the gateway's median overhead.
6. Overload: 2x the settled/s offered for ``--overload-seconds`` (each request with a 5 s client
   timeout, sent by ``open_loop`` and timed from when it was due): answer-time p99 (and the client's
   lag), shares of 429/503 and of timeouts/connection errors; then the drain time until no order is
   pending, and a check that every 201 order ended confirmed or rejected.

The figures are printed beside the previous run of the same kind (``now | before``) and saved to
``var/bench/stack-<full|quick>-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_orders import (  # this folder is on sys.path: the script runs from it
    LIST_PATH,
    post_order,
    post_order_async,
    post_to_confirmed,
    read_latency,
    settle,
    sign_up,
    stock_up,
    summary,
    throughput,
    wait_until_settled,
)
from open_loop import offer
from profiles import start as start_profiles
from profiles import stop as stop_profiles
from profiles import summarise as summarise_profiles

from ops import postgres
from ops.cpu import cpu_snapshot, cpu_used
from ops.isolated import Stack, private_kafka, private_postgres, start_stack
from ops.paths import VAR
from ops.procs import read_pid

HOME = VAR / "bench"
CLIENT_TIMEOUT = 5.0
SETTLED = frozenset({"confirmed", "rejected"})
# Per mode: the defaults of the options that set the run's length.
PROFILES: dict[str, dict[str, float]] = {
    "full": {
        "orders": 600,
        "idle_seconds": 5,
        "poll_seconds": 5,
        "pgbench_seconds": 20,
        "steady_seconds": 30,
        "reads": 1000,
        "read_seconds": 10,
        "overload_seconds": 30,
    },
    "quick": {
        "orders": 120,
        "idle_seconds": 2,
        "poll_seconds": 2,
        "pgbench_seconds": 5,
        "steady_seconds": 8,
        "reads": 200,
        "read_seconds": 2,
        "overload_seconds": 5,
    },
}


def main() -> None:
    options = parse_options()
    os.environ["RATE_LIMIT_DEFAULT"] = os.environ["RATE_LIMIT_LOGIN"] = "100000000/60"
    os.environ["JWT_ACCESS_MINUTES"] = "120"  # the customers sign in once; a full run outlasts the default 5 minutes
    started = time.monotonic()
    run_home = HOME / f"infra-{time.strftime('%Y%m%d-%H%M%S')}"
    results: dict[str, Any] = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "options": vars(options)}
    try:
        with private_postgres(run_home / "postgres") as server_url, private_kafka(run_home / "kafka") as broker:
            os.environ["POSTGRES_URL"] = server_url
            os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
            stack = start_stack("bench")
            results["startup_seconds"] = round(time.monotonic() - started, 1)
            try:
                roots = {"postgres": read_pid(postgres.DATA_DIR / "postmaster.pid"), "kafka": broker.pid()}
                measure(stack, server_url, roots, options, results)
            finally:
                stack.stop()
    finally:
        shutil.rmtree(run_home, ignore_errors=True)
    results["wall_seconds"] = round(time.monotonic() - started, 1)
    report(results, mode="quick" if options.quick else "full")


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="a short run (under 2 minutes): fewer orders, shorter phases"
    )
    parser.add_argument("--customers", type=int, default=8)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also record py-spy profiles of every stack process in the CPU phase (costs CPU: the figures are "
        "then for finding where time goes, not for comparing runs)",
    )
    for name, value in PROFILES["full"].items():
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=type(value),
            default=None,
            help=f"default {value}, quick {PROFILES['quick'][name]}",
        )
    options = parser.parse_args()
    for name, value in PROFILES["quick" if options.quick else "full"].items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    return options


def measure(
    stack: Stack,
    server_url: str,
    infrastructure: dict[str, int | None],
    options: argparse.Namespace,
    results: dict[str, Any],
) -> None:
    progress("stack ready: warming up")
    products = stock_up(stack)
    customers = [sign_up(stack) for _ in range(options.customers)]

    def roots() -> dict[str, int | None]:
        """Read again each time: a restarted process has a new pid."""
        return stack.pids() | infrastructure

    place_and_follow(stack, customers, products, orders=2 * options.customers)  # warm every process and connection

    idle_before = cpu_snapshot(roots())
    time.sleep(options.idle_seconds)
    idle = {name: used / options.idle_seconds for name, used in cpu_used(idle_before, cpu_snapshot(roots())).items()}
    results["idle_cpu_ms_per_second"] = rounded({name: rate * 1000 for name, rate in idle.items()})

    progress("CPU per order and settled orders/s")
    client_before = resource.getrusage(resource.RUSAGE_SELF)
    work_before = database_work(stack)
    before = cpu_snapshot(roots())
    profile_folder = HOME / f"profile-{time.strftime('%Y%m%d-%H%M%S')}"
    recorders = start_profiles(stack.pids(), profile_folder) if options.profile else {}
    placed = place_and_follow(stack, customers, products, orders=options.orders)
    used = cpu_used(before, cpu_snapshot(roots()))
    results["per_order"] = per_order(work_before, database_work(stack), options.orders)
    if recorders:
        stop_profiles(recorders)
        results["profile"] = str(profile_folder)
        print(summarise_profiles(profile_folder), file=sys.stderr, flush=True)
    client = resource.getrusage(resource.RUSAGE_SELF)
    # What one status poll costs, reported on its own (an app polls; this run's settling needed no polls).
    per_poll = poll_cost(stack, roots(), customers, placed["orders"], idle, seconds=options.poll_seconds)
    charged = used
    results["orders"] = {key: value for key, value in placed.items() if key != "orders"}
    results["settled_orders_per_second"] = round(options.orders / placed["seconds"], 1)
    results["cpu_ms_per_order"] = rounded({name: seconds * 1000 / options.orders for name, seconds in charged.items()})
    results["cpu_ms_per_order_total"] = round(sum(charged.values()) * 1000 / options.orders, 2)
    # What the stack burns anyway while idle (Kafka, relays polling the outbox), at this run's pace.
    idle_share = sum(idle.values()) * placed["seconds"] / options.orders
    results["cpu_ms_per_order_above_idle"] = round(results["cpu_ms_per_order_total"] - idle_share * 1000, 2)
    results["cpu_ms_per_poll"] = rounded({name: seconds * 1000 for name, seconds in per_poll.items()}, digits=3)
    results["orders_per_core_second"] = capacity(results["cpu_ms_per_order"])
    client_seconds = client.ru_utime + client.ru_stime - client_before.ru_utime - client_before.ru_stime
    results["bench_client_cpu_ms_per_order"] = round(client_seconds * 1000 / options.orders, 2)

    progress("pgbench")
    results["pgbench_tps"] = pgbench_tps(server_url, seconds=options.pgbench_seconds)
    results["settled_share_of_pgbench_tps_percent"] = round(
        100 * results["settled_orders_per_second"] / results["pgbench_tps"], 2
    )

    progress("POST -> confirmed at 70 %")
    rate = round(0.7 * results["settled_orders_per_second"], 2)
    steady = argparse.Namespace(rate=rate, steady_seconds=options.steady_seconds)
    results["post_to_confirmed_ms_at_70_percent"] = post_to_confirmed(stack, customers, products, steady) | {
        "rate": rate
    }

    progress("product-list reads")
    results["product_list"] = reads(stack, options)
    progress("overload and drain")
    results["overload"] = overload(
        stack, customers, products, rate=2 * results["settled_orders_per_second"], seconds=options.overload_seconds
    )


def database_work(stack: Stack) -> dict[str, dict[str, int]]:
    """Per service database: transactions committed or rolled back, and outbox rows written, so far."""
    work = {}
    with psycopg.connect(stack.database_url("order"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname, xact_commit + xact_rollback FROM pg_stat_database WHERE datname = ANY(%s)",
            (list(stack.databases.values()),),
        ).fetchall()
    transactions = {str(name): int(count) for name, count in rows}
    for service, database in stack.databases.items():
        with psycopg.connect(stack.database_url(service), autocommit=True) as conn:
            found = conn.execute("SELECT count(*) FROM shared_outboxevent").fetchone()
        work[service] = {"transactions": transactions.get(database, 0), "events": int(found[0]) if found else 0}
    return work


def per_order(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], orders: int) -> dict[str, Any]:
    """What the run's orders cost each service's database: transactions and events published, per order.

    Transactions include the bench's own reads of the stats and of the orders' progress (a few per second).
    """
    return {
        measure: {
            service: round((after[service][measure] - before[service][measure]) / orders, 2)
            for service in sorted(after)
            if after[service][measure] != before[service][measure]
        }
        for measure in ("transactions", "events")
    }


def capacity(cpu_ms_per_order: dict[str, float]) -> dict[str, float]:
    """The capacity model: how many orders per second one core sustains for each kind of process.

    Kinds add up the services' processes of that kind (``order-consumer`` + ``payment-consumer`` +
    ... = ``consumer``), because a deployment sizes them together: N orders/s need N / figure cores
    of that kind (docs/scaling.md). Postgres and Kafka are kinds of their own.
    """
    by_kind: dict[str, float] = {}
    for name, milliseconds in cpu_ms_per_order.items():
        kind = name.rpartition("-")[2]
        by_kind[kind] = by_kind.get(kind, 0.0) + milliseconds
    return {kind: round(1000 / total, 1) for kind, total in sorted(by_kind.items()) if total > 0}


def progress(phase: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {phase}", file=sys.stderr, flush=True)


def rounded(values: dict[str, float], digits: int = 2) -> dict[str, float]:
    return {name: round(value, digits) for name, value in sorted(values.items())}


def place_and_follow(
    stack: Stack, customers: list[dict[str, str]], products: list[dict[str, Any]], *, orders: int
) -> dict[str, Any]:
    """Each customer places its share of ``orders`` back to back; then the run waits until all are settled.

    Returns the seconds from the first POST to the last order settled (by the orders' status history,
    watched in the database, so no API polling competes with the saga), the orders' final statuses
    and their ids with their customers (for the poll phase).
    """
    placed: list[tuple[str, dict[str, str]]] = []
    lock = threading.Lock()
    started = time.time()

    def customer(index: int) -> None:
        headers = customers[index]
        with httpx.Client(timeout=30) as client:
            for number in range(index, orders, len(customers)):
                answer = post_order(client, stack, headers, products[number % len(products)], retries=5)
                with lock:
                    placed.append((str(answer.raise_for_status().json()["id"]), headers))

    run_threads(customer, len(customers))
    settled = wait_until_settled(stack, [order_id for order_id, _ in placed])
    return {
        "seconds": max(at for _, at in settled.values()) - started,
        "statuses": dict(Counter(status for status, _ in settled.values())),
        "orders": placed,
    }


def run_threads(target: Any, count: int) -> None:
    """Runs ``target(index)`` in ``count`` threads; re-raises the first error, so no figure rests on a failed phase."""
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def poll_cost(
    stack: Stack,
    roots: dict[str, int | None],
    customers: list[dict[str, str]],
    orders: list[tuple[str, dict[str, str]]],
    idle: dict[str, float],
    *,
    seconds: float,
) -> dict[str, float]:
    """CPU seconds one ``GET /orders/{id}`` costs each process: a phase of polls only, less the idle rate."""
    counts = [0] * len(customers)
    before = cpu_snapshot(roots)
    started = time.monotonic()

    def poller(index: int) -> None:
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < started + seconds:
                order_id, headers = orders[(index + counts[index] * len(customers)) % len(orders)]
                client.get(stack.url("gateway", f"/api/v1/orders/{order_id}"), headers=headers).raise_for_status()
                counts[index] += 1

    run_threads(poller, len(customers))
    elapsed = time.monotonic() - started
    used = cpu_used(before, cpu_snapshot(roots))
    return {name: max(0.0, spent - idle.get(name, 0.0) * elapsed) / sum(counts) for name, spent in used.items()}


def pgbench_tps(server_url: str, *, seconds: float) -> float:
    """TPS of ``pgbench -N -c8 -j2`` on a scratch database, with the pgbench beside the server's binary."""
    database = "bench_pgbench"
    postgres.recreate_databases(server_url, [database])
    url = urlsplit(server_url)
    command = [str(postgres.bin_dir() / "pgbench"), "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432)]
    command += ["-U", url.username or "postgres"]
    env = os.environ | {"PGPASSWORD": url.password or ""}
    subprocess.run([*command, "-i", "-q", database], env=env, capture_output=True, check=True, timeout=300)
    run = subprocess.run(
        [*command, "-N", "-c8", "-j2", f"-T{int(seconds)}", database],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
    )
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
    if match is None:
        raise RuntimeError(f"no TPS in pgbench's output:\n{run.stdout}{run.stderr}")
    return round(float(match.group(1)), 1)


def reads(stack: Stack, options: argparse.Namespace) -> dict[str, Any]:
    direct, gateway = stack.url("product", LIST_PATH), stack.url("gateway", LIST_PATH)
    latency = read_latency(direct, gateway, options.reads)
    load = argparse.Namespace(concurrency=options.customers, seconds=options.read_seconds)
    per_second = {
        "direct": throughput(lambda client: client.get(direct).raise_for_status(), load),
        "gateway": throughput(lambda client: client.get(gateway).raise_for_status(), load),
    }
    return {
        "latency_ms": latency,
        "reads_per_second": per_second,
        "gateway_share_of_direct_reads_percent": round(100 * per_second["gateway"] / per_second["direct"], 1),
        "gateway_median_overhead_ms": round(latency["gateway"]["median"] - latency["direct"]["median"], 2),
    }


def overload(
    stack: Stack, customers: list[dict[str, str]], products: list[dict[str, Any]], *, rate: float, seconds: float
) -> dict[str, Any]:
    """``rate`` POSTs/s offered at a steady pace for ``seconds``, then the drain, then every 201 order's fate.

    Each POST is sent once (``open_loop``), timed from when it was due; ``client_late_ms`` is how late
    the client itself sent them (a large figure means the client, not the stack, fell behind).
    """

    async def send(session: aiohttp.ClientSession, number: int) -> tuple[str, str | None]:
        customer, product = customers[number % len(customers)], products[number % len(products)]
        status, body = await post_order_async(session, stack, customer, product)
        return str(status), str(body["id"]) if status == 201 else None

    total = int(rate * seconds)
    outcomes = offer(send, rate=rate, count=total, timeout=CLIENT_TIMEOUT)
    answers = [outcome.result if isinstance(outcome.result, str) else outcome.result[0] for outcome in outcomes]
    created = [outcome.result[1] for outcome in outcomes if isinstance(outcome.result, tuple) and outcome.result[1]]
    counts = Counter(answers)
    try:
        drain: float | None = settle(stack, timeout=300)
    except TimeoutError:
        drain = None
    fates = order_fates(stack, created)
    return {
        "offered_per_second": round(rate, 2),
        "requests": total,
        "answers": dict(counts),
        "answer_ms": summary([outcome.ms for outcome in outcomes]),
        "client_late_ms": summary([outcome.late_ms for outcome in outcomes]),
        "refused_429_503_percent": round(100 * (counts["429"] + counts["503"]) / total, 1),
        "timeouts_and_connection_errors_percent": round(
            100 * (counts["timeout"] + counts["connection error"]) / total, 1
        ),
        "drain_seconds": drain,
        "created_orders": len(created),
        "created_order_statuses": fates,
        "lost_or_stuck": len(created) - sum(fates.get(status, 0) for status in SETTLED),
    }


def order_fates(stack: Stack, order_ids: list[str]) -> dict[str, int]:
    """How many of ``order_ids`` have each status now; ``missing`` for ids the order service does not have."""
    with psycopg.connect(stack.database_url("order"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM orders_order WHERE id = ANY(%s) GROUP BY status",
            ([uuid.UUID(order_id) for order_id in order_ids],),
        ).fetchall()
    fates = {str(status): int(count) for status, count in rows}
    missing = len(order_ids) - sum(fates.values())
    return fates | ({"missing": missing} if missing else {})


def figures(results: dict[str, Any]) -> dict[str, str]:
    """The printed lines of a run's results, by label (a run saved by an older version may lack some)."""

    def get(*path: str) -> Any:
        value: Any = results
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value

    def pair(*path: str) -> str | None:
        found = get(*path)
        return None if found is None else f"{found['median']:.1f} / {found['p99']:.1f}"

    lines: dict[str, Any] = {
        "CPU ms per order, total": get("cpu_ms_per_order_total"),
        "CPU ms per order above idle": get("cpu_ms_per_order_above_idle"),
        "idle CPU ms/s, all processes": idle_total(get("idle_cpu_ms_per_second")),
        **{f"  {name}": value for name, value in (get("cpu_ms_per_order") or {}).items()},
        "  (bench client, not in total)": get("bench_client_cpu_ms_per_order"),
        **{
            f"  transactions per order, {name}": value
            for name, value in (get("per_order", "transactions") or {}).items()
        },
        **{f"  events per order, {name}": value for name, value in (get("per_order", "events") or {}).items()},
        **{f"  orders/s per core, {kind}": value for kind, value in (get("orders_per_core_second") or {}).items()},
        "settled orders/s": get("settled_orders_per_second"),
        "pgbench -N -c8 -j2 TPS": get("pgbench_tps"),
        "settled/s / TPS %": get("settled_share_of_pgbench_tps_percent"),
        "steady rate (70 %) orders/s": get("post_to_confirmed_ms_at_70_percent", "rate"),
        "POST->confirmed p50 / p99 ms": pair("post_to_confirmed_ms_at_70_percent"),
        "  client lag p50 / p99 ms": pair("post_to_confirmed_ms_at_70_percent", "client_late_ms"),
        "reads direct median / p99 ms": pair("product_list", "latency_ms", "direct"),
        "reads gateway median / p99 ms": pair("product_list", "latency_ms", "gateway"),
        "reads/s direct": get("product_list", "reads_per_second", "direct"),
        "reads/s gateway": get("product_list", "reads_per_second", "gateway"),
        "gateway reads/s % of direct": get("product_list", "gateway_share_of_direct_reads_percent"),
        "gateway median overhead ms": get("product_list", "gateway_median_overhead_ms"),
        "overload offered orders/s": get("overload", "offered_per_second"),
        "overload answer p99 ms": get("overload", "answer_ms", "p99"),
        "  overload client lag p50/p99 ms": pair("overload", "client_late_ms"),
        "overload 429/503 %": get("overload", "refused_429_503_percent"),
        "overload timeouts+conn errors %": get("overload", "timeouts_and_connection_errors_percent"),
        "overload drain s": get("overload", "drain_seconds"),
        "overload 201 orders lost/stuck": get("overload", "lost_or_stuck"),
        "wall seconds (startup)": f"{get('wall_seconds')} ({get('startup_seconds')})",
    }
    return {label: str(value) for label, value in lines.items() if value is not None}


def idle_total(rates: dict[str, float] | None) -> float | None:
    return None if rates is None else round(sum(rates.values()), 1)


def previous_run(kind: str) -> tuple[Path, dict[str, Any]] | None:
    runs = sorted(HOME.glob(f"stack-{kind}-*.json"))
    return (runs[-1], json.loads(runs[-1].read_text())) if runs else None


def report(results: dict[str, Any], *, mode: str) -> None:
    earlier = previous_run(mode)
    now, before = figures(results), figures(earlier[1]) if earlier else {}
    print(f"\n{'':<34}{'now':>22} | {'before':<22}")
    for label in [*now, *(label for label in before if label not in now)]:
        print(f"{label:<34}{now.get(label, '-'):>22} | {before.get(label, '-'):<22}")
    overload_run = results["overload"]
    print(f"overload answers: {overload_run['answers']}; 201 orders now: {overload_run['created_order_statuses']}")
    print(f"(before: {earlier[0].name})" if earlier else "(no earlier run of this kind in var/bench/)")
    HOME.mkdir(parents=True, exist_ok=True)
    out = HOME / f"stack-{mode}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
