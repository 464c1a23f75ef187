"""The order platform under load (``make bench``), figures side by side from one run, saved as JSON.

On a stack of its own (``ops.isolated``: the same processes ``make up`` runs, with
the gateway's rate limits raised so the benchmark measures the system, not the
limiter), bounded in time and count, loopback only:

1. product-list reads: ``GET /api/v1/products`` straight to product_svc and through
   the gateway, alternating on keep-alive connections: median and p99 latency,
   then reads/s of each with ``--concurrency`` client threads;
2. order placements/s through the gateway (``--concurrency`` customers placing
   one-line orders for ``--seconds``);
3. POST -> confirmed latency at a steady moderate rate (``--rate`` orders/s for
   ``--steady-seconds``): from sending the POST to reading status confirmed.

Results go to ``var/bench/orders-<time>.json`` (git-ignored) so runs can be compared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from open_loop import offer  # this folder is on sys.path: the scripts run from it

from ops.isolated import Stack, start_stack
from ops.paths import VAR

LIST_PATH = "/api/v1/products?page_size=20"
PASSWORD = "bench-pass-phrase-42"  # noqa: S105 - benchmark users on a throwaway stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="sequential reads per target")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0, help="per throughput phase")
    parser.add_argument("--rate", type=float, default=5.0, help="orders/s in the steady phase")
    parser.add_argument("--steady-seconds", type=float, default=20.0)
    options = parser.parse_args()
    os.environ["RATE_LIMIT_DEFAULT"] = os.environ["RATE_LIMIT_LOGIN"] = "100000000/60"
    stack = start_stack("bench")
    results: dict[str, Any] = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "options": vars(options)}
    try:
        direct, gateway = stack.url("product", LIST_PATH), stack.url("gateway", LIST_PATH)
        results["product_list_latency_ms"] = read_latency(direct, gateway, options.requests)
        results["product_list_reads_per_second"] = {
            "direct": throughput(lambda client: client.get(direct).raise_for_status(), options),
            "gateway": throughput(lambda client: client.get(gateway).raise_for_status(), options),
        }
        products = stock_up(stack)
        customers = [sign_up(stack) for _ in range(options.concurrency)]
        results["order_placements_per_second"] = placements(stack, customers, products, options)
        results["settle_seconds_after_placements"] = settle(stack)
        results["post_to_confirmed_ms"] = post_to_confirmed(stack, customers, products, options)
    finally:
        stack.stop()
    report(results)


def read_latency(direct: str, gateway: str, requests: int) -> dict[str, dict[str, float]]:
    timings: dict[str, list[float]] = {"direct": [], "gateway": []}
    with httpx.Client() as client:
        for url in (direct, gateway):  # warm both connections and caches
            for _ in range(50):
                client.get(url).raise_for_status()
        for _ in range(requests):
            for name, url in (("direct", direct), ("gateway", gateway)):
                started = time.perf_counter()
                client.get(url).raise_for_status()
                timings[name].append((time.perf_counter() - started) * 1000)
    return {name: summary(values) for name, values in timings.items()}


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 2),
        "p99": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 2),
        "count": len(ordered),
    }


def throughput(request: Any, options: argparse.Namespace, clients: list[dict[str, str]] | None = None) -> float:
    """Requests/s of ``request(client[, headers])`` from ``options.concurrency`` threads for ``options.seconds``."""
    counts = [0] * options.concurrency
    deadline = time.monotonic() + options.seconds

    def worker(index: int) -> None:
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                if clients is None:
                    request(client)
                else:
                    request(client, clients[index])
                counts[index] += 1

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(options.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return round(sum(counts) / options.seconds, 1)


def staff_headers(stack: Stack) -> dict[str, str]:
    answer = httpx.post(
        stack.url("gateway", "/api/v1/auth/token"),
        json={"email": "staff@example.com", "password": "demo-pass-123"},
        timeout=30,
    )
    return {"Authorization": f"Bearer {answer.raise_for_status().json()['access']}"}


def stock_up(stack: Stack) -> list[dict[str, Any]]:
    staff = staff_headers(stack)
    products = httpx.get(stack.url("gateway", "/api/v1/products?page_size=100"), timeout=30).json()["results"]
    for item in products:
        httpx.post(
            stack.url("gateway", f"/api/v1/inventory/{item['id']}/adjustments"),
            json={"delta": 1_000_000, "reason": "benchmark stock"},
            headers=staff,
            timeout=30,
        ).raise_for_status()
    return list(products)


def sign_up(stack: Stack) -> dict[str, str]:
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    gateway = stack.url("gateway")
    httpx.post(
        f"{gateway}/api/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=30
    ).raise_for_status()
    tokens = httpx.post(f"{gateway}/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=30)
    return {"Authorization": f"Bearer {tokens.raise_for_status().json()['access']}"}


def order_request(stack: Stack, headers: dict[str, str], product: dict[str, Any], key: str) -> dict[str, Any]:
    """The arguments of a POST of a one-line order of ``product`` under Idempotency-Key ``key``."""
    return {
        "url": stack.url("gateway", "/api/v1/orders"),
        "json": {"items": [{"product_id": product["id"], "quantity": 1}], "payment_method": "pm_card_visa"},
        "headers": headers | {"Idempotency-Key": key},
    }


def post_order(
    client: httpx.Client, stack: Stack, headers: dict[str, str], product: dict[str, Any], *, retries: int = 0
) -> httpx.Response:
    """POSTs a one-line order of ``product`` under a new Idempotency-Key; the answer, whatever it is.

    With ``retries``, a 503 or 429 (load shed or rate-limited: nothing was done) is sent again under the
    same key after its Retry-After, as a well-behaved app does; the overload phase sends once.
    """
    request = order_request(stack, headers, product, uuid.uuid4().hex)
    while True:
        answer = client.post(**request)
        if answer.status_code not in (429, 503) or retries <= 0:
            return answer
        retries -= 1
        time.sleep(float(answer.headers.get("Retry-After", "1")))


async def post_order_async(
    session: aiohttp.ClientSession,
    stack: Stack,
    headers: dict[str, str],
    product: dict[str, Any],
    *,
    retries: int = 0,
) -> tuple[int, Any]:
    """:func:`post_order` on an event loop (``open_loop``): the answer's status and body (parsed when JSON)."""
    request = order_request(stack, headers, product, uuid.uuid4().hex)
    while True:
        async with session.post(request["url"], json=request["json"], headers=request["headers"]) as answer:
            text = await answer.text()
            try:
                body: Any = json.loads(text)
            except ValueError:  # no answer of ours, but a figure must not fail on a proxy's page
                body = text
            if answer.status not in (429, 503) or retries <= 0:
                return answer.status, body
            retry_after = float(answer.headers.get("Retry-After", "1"))
        retries -= 1
        await asyncio.sleep(retry_after)


def place(client: httpx.Client, stack: Stack, headers: dict[str, str], product: dict[str, Any]) -> str:
    return str(post_order(client, stack, headers, product, retries=5).raise_for_status().json()["id"])


def placements(
    stack: Stack, customers: list[dict[str, str]], products: list[dict[str, Any]], options: argparse.Namespace
) -> float:
    counter = iter(range(10**9))
    return throughput(
        lambda client, headers: place(client, stack, headers, products[next(counter) % len(products)]),
        options,
        clients=customers,
    )


def settle(stack: Stack, timeout: float = 300) -> float:
    """Waits until no order is pending (the saga caught up with the placement burst); returns how long it took."""
    started = time.monotonic()
    with psycopg.connect(stack.database_url("order"), autocommit=True) as conn:
        while (conn.execute("SELECT count(*) FROM orders_order WHERE status = 'pending'").fetchone() or (0,))[0]:
            if time.monotonic() - started > timeout:
                raise TimeoutError("orders still pending after the placement burst")
            time.sleep(0.1)
    return round(time.monotonic() - started, 1)


def post_to_confirmed(
    stack: Stack, customers: list[dict[str, str]], products: list[dict[str, Any]], options: argparse.Namespace
) -> dict[str, Any]:
    """POST -> confirmed latency at a steady arrival rate (``options.rate`` orders/s for ``options.steady_seconds``).

    Each order's time from when its POST was due (``open_loop``: one event loop sends them all at
    that pace) to the saga writing its ``confirmed`` status (the order's history row, same machine
    clock), read from the database afterwards rather than by polling the API, so the measurement adds
    no load of its own to the stack it measures. A shed POST is sent again after its Retry-After, as
    an app does, and the wait counts. ``client_late_ms``: how late the client sent the POSTs.
    """

    async def send(session: aiohttp.ClientSession, number: int) -> str:
        customer, product = customers[number % len(customers)], products[number % len(products)]
        status, body = await post_order_async(session, stack, customer, product, retries=5)
        if status != 201:
            raise RuntimeError(f"POST /orders answered {status} at {options.rate} orders/s: {body}")
        return str(body["id"])

    total = int(options.rate * options.steady_seconds)
    outcomes = offer(send, rate=options.rate, count=total, timeout=30)
    failed = [outcome.result for outcome in outcomes if outcome.result in ("timeout", "connection error")]
    if failed:
        raise RuntimeError(f"{len(failed)} POSTs failed ({failed[0]}) at {options.rate} orders/s")
    sent = {str(outcome.result): outcome.due for outcome in outcomes}
    settled = wait_until_settled(stack, list(sent))
    refused = [order_id for order_id, (status, _) in settled.items() if status != "confirmed"]
    if refused:
        raise RuntimeError(f"{len(refused)} orders were not confirmed, e.g. {refused[0]}")
    return summary([(settled[order_id][1] - due) * 1000 for order_id, due in sent.items()]) | {
        "client_late_ms": summary([outcome.late_ms for outcome in outcomes])
    }


def wait_until_settled(stack: Stack, order_ids: list[str], timeout: float = 300) -> dict[str, tuple[str, float]]:
    """Waits until none of ``order_ids`` is pending; returns each one's status and when (epoch seconds) it
    left pending, from its status history. Reads the order database directly: watching adds no API load."""
    ids = [uuid.UUID(order_id) for order_id in order_ids]
    deadline = time.monotonic() + timeout
    with psycopg.connect(stack.database_url("order"), autocommit=True) as conn:
        while (
            conn.execute(
                "SELECT count(*) FROM orders_order WHERE id = ANY(%s) AND status = 'pending'", (ids,)
            ).fetchone()
            or (0,)
        )[0]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"orders still pending after {timeout:.0f} s")
            time.sleep(0.1)  # the times come from the history rows; this only decides when to read them
        rows = conn.execute(
            """
            SELECT o.id, o.status, extract(epoch FROM min(h.at))
            FROM orders_order o JOIN orders_statushistory h ON h.order_id = o.id AND h.status <> 'pending'
            WHERE o.id = ANY(%s) GROUP BY o.id, o.status
            """,
            (ids,),
        ).fetchall()
    return {str(order_id): (str(status), float(at)) for order_id, status, at in rows}


def report(results: dict[str, Any]) -> None:
    latency = results["product_list_latency_ms"]
    reads = results["product_list_reads_per_second"]
    confirmed = results["post_to_confirmed_ms"]
    print(f"{'':<34}{'direct to product_svc':>24}{'through the gateway':>24}")
    direct, through = latency["direct"], latency["gateway"]
    print(
        f"{'product list latency median/p99':<34}{direct['median']:>15.2f} /{direct['p99']:>6.2f} ms"
        f"{through['median']:>15.2f} /{through['p99']:>6.2f} ms"
    )
    print(f"{'product list reads/s':<34}{reads['direct']:>24.1f}{reads['gateway']:>24.1f}")
    print(f"{'order placements/s':<34}{'':>24}{results['order_placements_per_second']:>24.1f}")
    print(f"{'saga caught up after the burst':<34}{'':>24}{results['settle_seconds_after_placements']:>22.1f} s")
    print(f"{'POST -> confirmed median/p99':<34}{'':>24}{confirmed['median']:>15.2f} /{confirmed['p99']:>6.2f} ms")
    out = VAR / "bench" / f"orders-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
