"""The arithmetic of ``make bench``'s report: the capacity model and the profile summary (no stack needed)."""

from __future__ import annotations

import itertools
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))  # the bench scripts import each other as top-level modules

from bench_stack import capacity  # noqa: E402
from open_loop import offer  # noqa: E402
from profiles import summarise  # noqa: E402


def test_capacity_adds_up_each_kind_of_process_and_inverts_it():
    model = capacity(
        {"order-consumer": 3.0, "payment-consumer": 2.0, "order-web": 4.0, "postgres": 8.0, "user-grpc": 0.0}
    )
    # 5 ms of consumer CPU per order: one core of consumers settles 200 orders/s.
    assert model == {"consumer": 200.0, "postgres": 125.0, "web": 250.0}


def test_profile_summary_names_where_time_went_and_our_functions_on_the_stack(tmp_path):
    (tmp_path / "order-consumer.txt").write_text(
        "run (shared/consumer.py:10);apply_event (shared/consumer.py:99);execute (psycopg/cursor.py:113) 30\n"
        "run (shared/consumer.py:10);loads (json/decoder.py:337) 10\n"
    )
    summary = summarise(tmp_path)
    assert "== order-consumer: 0.4 busy CPU-seconds sampled" in summary
    assert " 75.0%  psycopg" in summary
    assert " 25.0%  json" in summary
    assert "100.0%  run (shared/consumer.py:10)" in summary
    assert " 75.0%  apply_event (shared/consumer.py:99)" in summary


def test_open_loop_sends_at_the_rate_and_times_each_request_from_when_it_was_due():
    """Against a real HTTP server that answers in 200 ms: every request answered, each timed from when it was
    due (so at least the server's 200 ms), due times spaced by 1/rate, the client's own lag reported. Sent one
    after the other, the last of the 20 would wait some 3.5 s: under 2 s each, they overlapped."""

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(0.2)
            self.send_response(200 if self.path != "/5" else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    async def send(session, number):
        async with session.get(f"{url}/{number}") as answer:
            return answer.status

    before = time.time()
    try:
        outcomes = offer(send, rate=40, count=20, timeout=5)
    finally:
        server.shutdown()
    assert [outcome.number for outcome in outcomes] == list(range(20))
    assert [outcome.result for outcome in outcomes] == [200] * 5 + [503] + [200] * 14
    assert all(outcome.ms >= 200 for outcome in outcomes)
    assert all(outcome.ms < 2000 and 0 <= outcome.late_ms < 1000 for outcome in outcomes)
    dues = [outcome.due for outcome in outcomes]
    assert before <= dues[0] < before + 1
    assert all(abs((later - earlier) - 1 / 40) < 1e-6 for earlier, later in itertools.pairwise(dues))


def test_open_loop_counts_a_refused_connection_and_raises_any_other_error():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens there once closed

    async def send(session, number):
        async with session.get(f"http://127.0.0.1:{port}/") as answer:
            return answer.status

    assert [outcome.result for outcome in offer(send, rate=100, count=3, timeout=5)] == ["connection error"] * 3

    async def broken(session, number):
        raise KeyError("id")

    with pytest.raises(KeyError):
        offer(broken, rate=100, count=2, timeout=5)
