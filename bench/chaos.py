"""The chaos run (``make chaos``, never part of ``make test``): orders placed while the stack is being broken.

On a stack of its own (``ops.isolated.start_stack("chaos")``) over a PRIVATE Postgres server and a
PRIVATE Kafka broker on free loopback ports, so stopping them disturbs no one else (the shared
server and broker other stacks and tests use are never touched):

- ``--customers`` customers place ``--orders`` one-line orders between them (spread over at least
  ``--min-duration`` seconds), each order under its
  own Idempotency-Key, retried with that same key until the shop answers 2xx (or ``--give-up``);
- meanwhile a process of the stack is SIGKILLed every ``--kill-every`` seconds (in rounds: each
  process once per round, in a new random order each round, so a long enough run kills every one), Kafka is
  stopped for ``--kafka-down`` seconds, and Postgres is restarted once;
- then it waits for the saga to settle (no order pending) and runs ``check_consistency`` (no grace:
  nothing may be in flight any more).

It prints the orders placed, the client-visible errors by status, the longest error window (the
longest time one order's placement kept failing before it went through) with the faults that
happened during the worst windows, the slowest single request, p50/p99 of the time an order
stayed pending, and the violations, which must be 0 (exit 1 otherwise). Bounded: every
wait has a deadline. The figures are saved to ``var/chaos/chaos-<time>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops import consistency, postgres
from ops.isolated import Stack, private_kafka, private_postgres, start_stack
from ops.kafka import LocalBroker
from ops.paths import VAR
from ops.supervisor import read_state

PASSWORD = "chaos-pass-phrase-42"  # noqa: S105 - throwaway customers on a throwaway stack
HOME = VAR / "chaos"
REQUEST_TIMEOUT = 15.0
# Client errors that no retry can mend: the run stops counting the order as placeable.
FINAL_CLIENT_ERRORS = frozenset({400, 403, 404, 409, 422})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--customers", type=int, default=8, help="customers placing orders at once")
    parser.add_argument("--kill-every", type=float, default=2.0, metavar="SECONDS")
    parser.add_argument("--kafka-down", type=float, default=20.0, metavar="SECONDS")
    parser.add_argument("--give-up", type=float, default=120.0, metavar="SECONDS", help="per order, retries included")
    parser.add_argument(
        "--min-duration",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="orders are spread over at least this long, so the faults hit them",
    )
    parser.add_argument(
        "--placing-timeout", type=float, default=900.0, metavar="SECONDS", help="no new order is started after this"
    )
    parser.add_argument("--settle-timeout", type=float, default=300.0, metavar="SECONDS")
    options = parser.parse_args()
    if options.orders < 1 or options.customers < 1 or options.kill_every <= 0:
        parser.error("--orders and --customers are at least 1, --kill-every more than 0")
    # The gateway's limits would otherwise be what the run measures.
    os.environ["RATE_LIMIT_DEFAULT"] = os.environ["RATE_LIMIT_LOGIN"] = "100000000/60"
    run_dir = HOME / time.strftime("%Y%m%d-%H%M%S")
    with private_postgres(run_dir / "postgres") as server_url, private_kafka(run_dir / "kafka") as broker:
        os.environ["POSTGRES_URL"] = server_url
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
        print(f"private postgres {server_url.split('@')[-1]}, private kafka {broker.bootstrap}", flush=True)
        stack = start_stack("chaos")
        try:
            results = chaos(stack, broker, options)
        finally:
            leftovers = stack.stop()
            if leftovers:
                print(f"still running after the stack's shutdown: {leftovers}", file=sys.stderr)
    results["options"] = vars(options)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "chaos.json").write_text(json.dumps(results, indent=2))
    print(render(results))
    print(f"(saved to {run_dir / 'chaos.json'})")
    return 0 if results["violations"] == [] and results["orders_given_up"] == 0 else 1


def restart_postgres() -> None:
    postgres.stop_local()
    postgres.start_local()


# The run


@dataclass
class Tally:
    """What the clients saw; shared by the client threads under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    orders: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> order id
    duplicates: list[str] = field(default_factory=list)  # keys answered with two different order ids
    given_up: list[str] = field(default_factory=list)
    error_windows: list[tuple[float, float]] = field(default_factory=list)  # (first failure, success), monotonic
    slowest_request: float = 0.0
    events: list[str] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)  # every kill and fault, monotonic
    kills: Counter[str] = field(default_factory=Counter)

    def log(self, started: float, text: str) -> None:
        with self.lock:
            self.events.append(f"{time.monotonic() - started:6.1f}s {text}")
            self.marks.append((time.monotonic(), text))
        print(f"  {time.monotonic() - started:6.1f}s {text}", flush=True)

    def worst_windows(self, started: float, count: int = 3) -> list[dict[str, Any]]:
        """The ``count`` longest error windows, with the kills and faults from 3 s before each until its end."""
        worst = sorted(self.error_windows, key=lambda window: window[1] - window[0], reverse=True)[:count]
        return [
            {
                "seconds": round(end - start, 1),
                "from": round(start - started, 1),
                "to": round(end - started, 1),
                "during": [text for at, text in self.marks if start - 3 <= at <= end],
            }
            for start, end in worst
        ]


def chaos(stack: Stack, broker: LocalBroker, options: argparse.Namespace) -> dict[str, Any]:
    products = stock_up(stack, units=options.orders // 2)
    customers = [Customer(stack) for _ in range(options.customers)]
    tally = Tally()
    placing_done = threading.Event()
    started = time.monotonic()
    work = iter(range(options.orders))
    work_lock = threading.Lock()
    spacing = options.min_duration / options.orders

    def client(customer: Customer) -> None:
        with httpx.Client(timeout=REQUEST_TIMEOUT) as http:
            while True:
                with work_lock:
                    number = next(work, None)
                if number is None or time.monotonic() - started > options.placing_timeout:
                    return
                time.sleep(max(0.0, started + number * spacing - time.monotonic()))
                place(http, customer, products[number % len(products)], tally, give_up=options.give_up)

    def faults() -> None:
        # Kafka goes first, Postgres after it is back; both while orders are being placed if N allows.
        time.sleep(5)
        tally.log(started, f"kafka stopped for {options.kafka_down:g}s")
        broker.stop()
        time.sleep(options.kafka_down)
        broker.start()
        tally.log(started, "kafka back")
        time.sleep(5)
        tally.log(started, "postgres restarting")
        restart_postgres()
        tally.log(started, "postgres back")

    def killer() -> None:
        chooser = random.Random()
        round_left: list[str] = []
        next_progress = time.monotonic() + 15
        while not placing_done.wait(options.kill_every):
            if time.monotonic() >= next_progress:
                next_progress += 15
                with tally.lock:
                    placed, failed, killed = len(tally.orders), sum(tally.errors.values()), sum(tally.kills.values())
                print(
                    f"  {time.monotonic() - started:6.1f}s placed {placed}/{options.orders}, "
                    f"{failed} failed attempts, {killed} kills",
                    flush=True,
                )
            alive = stack_children(stack)
            if not alive:
                continue
            if not round_left:
                round_left = sorted(stack.pids())
                chooser.shuffle(round_left)
            name = next((name for name in round_left if name in alive), None)
            if name is None:
                round_left = []  # the rest of this round is down already (restarting)
                continue
            round_left.remove(name)
            try:
                os.kill(alive[name], signal.SIGKILL)
            except ProcessLookupError:
                continue
            with tally.lock:
                tally.kills[name] += 1
                tally.marks.append((time.monotonic(), f"killed {name}"))

    # Daemons: an interrupted run (Ctrl-C) still reaches the stack's shutdown without waiting for them.
    clients = [threading.Thread(target=client, args=(customer,), daemon=True) for customer in customers]
    fault_thread = threading.Thread(target=faults, daemon=True)
    kill_thread = threading.Thread(target=killer, daemon=True)
    for thread in [*clients, fault_thread, kill_thread]:
        thread.start()
    for thread in [*clients, fault_thread]:
        thread.join()
    placing_done.set()
    kill_thread.join()
    placing_seconds = time.monotonic() - started
    tally.log(started, f"placing done: {len(tally.orders)} orders; {sum(tally.kills.values())} processes killed")

    settle_seconds = settle(stack, timeout=options.settle_timeout, started=time.monotonic())
    tally.log(started, f"saga settled after {settle_seconds:.1f}s more")
    report = consistent(stack, timeout=60)
    pending = pending_durations(stack)
    return {
        "orders_wanted": options.orders,
        "orders_placed": len(tally.orders),
        "orders_given_up": len(tally.given_up),
        "placement_attempts": tally.attempts,
        "client_errors_by_status": dict(sorted(tally.errors.items())),
        "longest_error_window_seconds": round(max((end - start for start, end in tally.error_windows), default=0.0), 1),
        "worst_error_windows": tally.worst_windows(started),
        "slowest_request_seconds": round(tally.slowest_request, 1),
        "keys_answered_with_two_orders": tally.duplicates,
        "time_pending_seconds": percentiles(pending),
        "final_statuses": final_statuses(stack),
        "processes_killed": dict(sorted(tally.kills.items())),
        "placing_seconds": round(placing_seconds, 1),
        "settle_seconds": round(settle_seconds, 1),
        "timeline": tally.events,
        "consistency": report,
        "violations": report["violations"],
    }


def stack_children(stack: Stack) -> dict[str, int]:
    """The stack's processes running now, by name: only live children of its supervisor.

    The state file may still name a process that died (the supervisor waits before restarting it);
    checking the parent makes sure a pid the system has since given to another program is never killed.
    """
    state = read_state(stack.state_file) or {}
    supervisor = state.get("supervisor_pid")
    alive = {}
    for name, pid in stack.pids().items():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, TypeError):
            continue
        # Fields after the command's closing parenthesis: state, then the parent's pid.
        state_code, parent = stat.rsplit(")", 1)[1].split()[:2]
        if pid and int(parent) == supervisor and state_code != "Z":
            alive[name] = pid
    return alive


class Customer:
    """A customer of the run: registered once, signs in again when its access token is refused."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.email = f"chaos-{uuid.uuid4().hex[:12]}@example.com"
        httpx.post(
            stack.url("gateway", "/api/v1/auth/register"), json={"email": self.email, "password": PASSWORD}, timeout=30
        ).raise_for_status()
        self.headers: dict[str, str] = {}
        self.sign_in()

    def sign_in(self) -> None:
        answer = httpx.post(
            self.stack.url("gateway", "/api/v1/auth/token"),
            json={"email": self.email, "password": PASSWORD},
            timeout=REQUEST_TIMEOUT,
        )
        answer.raise_for_status()
        self.headers = {"Authorization": f"Bearer {answer.json()['access']}"}


def place(http: httpx.Client, customer: Customer, product: dict[str, Any], tally: Tally, *, give_up: float) -> None:
    """Places one order, retrying with the same Idempotency-Key until a 2xx; records every failed attempt."""
    key = uuid.uuid4().hex
    body = {"items": [{"product_id": product["id"], "quantity": 1}], "payment_method": "pm_card_visa"}
    first_failure: float | None = None
    deadline = time.monotonic() + give_up
    delay = 0.05
    while time.monotonic() < deadline:
        sent = time.monotonic()
        outcome = attempt(http, customer, key, body)
        with tally.lock:
            tally.attempts += 1
            tally.slowest_request = max(tally.slowest_request, time.monotonic() - sent)
        if isinstance(outcome, str) and outcome.startswith("order:"):
            order_id = outcome.removeprefix("order:")
            with tally.lock:
                known = tally.orders.setdefault(key, order_id)
                if known != order_id:
                    tally.duplicates.append(key)
                if first_failure is not None:
                    tally.error_windows.append((first_failure, time.monotonic()))
            return
        with tally.lock:
            tally.errors[outcome] += 1
        if outcome in {str(status) for status in FINAL_CLIENT_ERRORS}:
            break
        if outcome == "401":
            # When the user service is down too, the next attempt is refused again and retried.
            with contextlib.suppress(httpx.HTTPError):
                customer.sign_in()
        first_failure = first_failure if first_failure is not None else time.monotonic()
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    with tally.lock:
        tally.given_up.append(key)


def attempt(http: httpx.Client, customer: Customer, key: str, body: dict[str, Any]) -> str:
    """``order:<id>`` for a 2xx, else the status code, ``timeout`` or ``connection error``."""
    try:
        answer = http.post(
            customer.stack.url("gateway", "/api/v1/orders"),
            json=body,
            headers=customer.headers | {"Idempotency-Key": key},
        )
    except httpx.TimeoutException:
        return "timeout"
    except httpx.TransportError:
        return "connection error"
    if answer.is_success:
        return f"order:{answer.json()['id']}"
    return str(answer.status_code)


def stock_up(stack: Stack, *, units: int) -> list[dict[str, Any]]:
    """Five products with ``units`` each in stock: some orders are confirmed, and late ones rejected as short."""
    staff = httpx.post(
        stack.url("gateway", "/api/v1/auth/token"),
        json={"email": "staff@example.com", "password": "demo-pass-123"},
        timeout=30,
    )
    headers = {"Authorization": f"Bearer {staff.raise_for_status().json()['access']}"}
    products = httpx.get(stack.url("gateway", "/api/v1/products?page_size=5"), timeout=30).json()["results"]
    for item in products:
        stock = httpx.get(stack.url("gateway", f"/api/v1/inventory/{item['id']}"), headers=headers, timeout=30)
        delta = max(units // len(products), 1) - stock.raise_for_status().json()["available"]
        if delta:
            httpx.post(
                stack.url("gateway", f"/api/v1/inventory/{item['id']}/adjustments"),
                json={"delta": delta, "reason": "chaos run stock"},
                headers=headers,
                timeout=30,
            ).raise_for_status()
    return list(products)


# After the storm (the run reads the order database directly, as the benchmarks do)


def settle(stack: Stack, *, timeout: float, started: float) -> float:
    """Waits until no order is pending; returns how long it took. Raises TimeoutError past ``timeout``."""
    while True:
        try:
            with psycopg.connect(stack.database_url("order"), autocommit=True, connect_timeout=5) as db:
                row = db.execute("SELECT count(*) FROM orders_order WHERE status = 'pending'").fetchone()
            if row is not None and row[0] == 0:
                return time.monotonic() - started
        except psycopg.OperationalError:
            pass  # the server may still be coming back
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"orders still pending {timeout:.0f}s after the placements")
        time.sleep(0.5)


def consistent(stack: Stack, *, timeout: float) -> dict[str, Any]:
    """``check_consistency`` with no grace, retried until it passes or ``timeout`` (outboxes may still drain)."""
    deadline = time.monotonic() + timeout
    while True:
        out, err = io.StringIO(), io.StringIO()
        code = consistency.run(
            as_json=True, grace_seconds=0, env_for=lambda spec: stack.env(spec.name), out=out, err=err
        )
        report: dict[str, Any] = json.loads(out.getvalue())
        drained = all(status["outbox"]["pending"] == 0 for status in report["services"].values())
        if (code == consistency.OK and drained) or time.monotonic() > deadline:
            return report
        time.sleep(1)


def pending_durations(stack: Stack) -> list[float]:
    """Seconds from each order's creation to the first status after pending."""
    with psycopg.connect(stack.database_url("order"), autocommit=True) as db:
        rows = db.execute(
            "SELECT EXTRACT(EPOCH FROM min(h.at) - o.created_at) FROM orders_order o "
            "JOIN orders_statushistory h ON h.order_id = o.id AND h.status <> 'pending' GROUP BY o.id, o.created_at"
        ).fetchall()
    return [float(seconds) for (seconds,) in rows]


def final_statuses(stack: Stack) -> dict[str, int]:
    with psycopg.connect(stack.database_url("order"), autocommit=True) as db:
        rows = db.execute("SELECT status, count(*) FROM orders_order GROUP BY status ORDER BY status").fetchall()
    return {str(status): int(count) for status, count in rows}


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0, "count": 0}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p99": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 2),
        "max": round(ordered[-1], 2),
        "count": len(ordered),
    }


def render(results: dict[str, Any]) -> str:
    errors = results["client_errors_by_status"]
    pending = results["time_pending_seconds"]
    lines = [
        "",
        "chaos run",
        f"  orders placed            {results['orders_placed']} of {results['orders_wanted']}"
        f" ({results['orders_given_up']} given up, {results['placement_attempts']} attempts)",
        f"  final statuses           {results['final_statuses']}",
        f"  client-visible errors    {sum(errors.values())}: "
        + (", ".join(f"{status} x{count}" for status, count in errors.items()) or "none"),
        f"  longest error window     {results['longest_error_window_seconds']}s",
        *(
            f"    {window['seconds']}s at {window['from']}s-{window['to']}s, during: "
            + (", ".join(window["during"]) or "no kill or fault")
            for window in results["worst_error_windows"]
        ),
        f"  slowest request          {results['slowest_request_seconds']}s",
        f"  time pending             p50 {pending['p50']}s  p99 {pending['p99']}s  max {pending['max']}s",
        f"  keys with two orders     {len(results['keys_answered_with_two_orders'])}",
        f"  processes killed         {sum(results['processes_killed'].values())}: {results['processes_killed']}",
        f"  placing took             {results['placing_seconds']}s, settling {results['settle_seconds']}s",
        f"  violations               {len(results['violations'])}",
    ]
    lines.extend(f"    [{v['rule']}] {v['subject']}: {v['detail']}" for v in results["violations"])
    lines.append("  timeline")
    lines.extend(f"    {event}" for event in results["timeline"])
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
