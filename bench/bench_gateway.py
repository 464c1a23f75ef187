"""Gateway overhead benchmark (``make bench``): one endpoint straight to its service vs through the gateway.

Starts a stack of its own (``ops.isolated``; the gateway's rate limit raised
so the benchmark measures forwarding, not limiting), then for
``GET /api/v1/categories`` (public, a database query and pagination):

- latency: sequential requests on one keep-alive connection, alternating
  direct and gateway so both see the same machine state; median and p99;
- throughput: ``--concurrency`` client threads for ``--seconds`` per target;
  requests per second and the gateway/direct ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops.isolated import start_stack

PATH = "/api/v1/categories"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    options = parser.parse_args()
    os.environ["RATE_LIMIT_DEFAULT"] = "100000000/60"
    stack = start_stack("bench")
    try:
        direct, gateway = stack.url("product", PATH), stack.url("gateway", PATH)
        latency(direct, gateway, options.requests)
        direct_rps = throughput(direct, options.concurrency, options.seconds)
        gateway_rps = throughput(gateway, options.concurrency, options.seconds)
        print(
            f"throughput with {options.concurrency} clients: direct {direct_rps:.0f} req/s, "
            f"through the gateway {gateway_rps:.0f} req/s, ratio {gateway_rps / direct_rps:.2f}"
        )
    finally:
        stack.stop()


def latency(direct: str, gateway: str, requests: int) -> None:
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
    summary = {name: (statistics.median(values), _p99(values)) for name, values in timings.items()}
    for name, (median, p99) in summary.items():
        print(f"{name:<8} median {median:.2f} ms, p99 {p99:.2f} ms ({requests} sequential requests)")
    print(
        f"gateway adds: median {summary['gateway'][0] - summary['direct'][0]:.2f} ms, "
        f"p99 {summary['gateway'][1] - summary['direct'][1]:.2f} ms"
    )


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def throughput(url: str, concurrency: int, seconds: float) -> float:
    counts = [0] * concurrency
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                client.get(url).raise_for_status()
                counts[index] += 1

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


if __name__ == "__main__":
    main()
