"""The arithmetic of ``make bench``'s report: the capacity model and the profile summary (no stack needed)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))  # the bench scripts import each other as top-level modules

from bench_stack import capacity  # noqa: E402
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
