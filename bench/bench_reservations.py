"""Reservation throughput through the inventory consumer (``make bench``).

On a stack of its own (``ops.isolated``), every demo product gets plenty of
stock, then ``--orders`` ``order.placed`` events (1-3 lines each) are written
straight to the orders topic, and the clock runs until inventory has handled
them all (a reservation row each). One consumer process does the work: each
order is one transaction that locks its stock rows, writes the reservation,
the ledger and the outbox events (inventory.reserved + inventory.changed per line).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from confluent_kafka import Producer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops.isolated import start_stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=3000)
    options = parser.parse_args()
    os.environ["RATE_LIMIT_DEFAULT"] = "100000000/60"
    stack = start_stack("bench")
    try:
        gateway = stack.url("gateway")
        token = httpx.post(
            f"{gateway}/api/v1/auth/token", json={"email": "staff@example.com", "password": "demo-pass-123"}
        ).json()["access"]
        staff = {"Authorization": f"Bearer {token}"}
        products = httpx.get(f"{gateway}/api/v1/products?page_size=100", timeout=30).json()["results"]
        for item in products:
            httpx.post(
                f"{gateway}/api/v1/inventory/{item['id']}/adjustments",
                json={"delta": 1_000_000, "reason": "benchmark stock"},
                headers=staff,
                timeout=30,
            ).raise_for_status()
        rng = random.Random(7)
        producer = Producer({"bootstrap.servers": stack.bootstrap, "linger.ms": 5})
        with psycopg.connect(stack.database_url("inventory")) as conn:
            before = (conn.execute("SELECT count(*) FROM inventory_reservation").fetchone() or (0,))[0]
        started = time.monotonic()
        for _ in range(options.orders):
            order_id = str(uuid.uuid4())
            lines = [
                {"product_id": item["id"], "sku": item["sku"], "quantity": 1, "unit_price": item["price"]}
                for item in rng.sample(products, rng.randint(1, 3))
            ]
            envelope = {
                "id": str(uuid.uuid4()),
                "type": "order.placed",
                "version": 1,
                "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "source": "bench",
                "key": order_id,
                "request_id": "",
                "payload": {
                    "order_id": order_id,
                    "customer_id": str(uuid.uuid4()),
                    "lines": lines,
                    "total": f"{sum(float(line['unit_price']) for line in lines):.2f}",
                    "currency": "USD",
                    "payment_method": "pm_card_visa",
                },
            }
            producer.produce(f"{stack.topic_prefix}orders", key=order_id.encode(), value=json.dumps(envelope).encode())
        producer.flush(30)
        target = before + options.orders
        with psycopg.connect(stack.database_url("inventory"), autocommit=True) as conn:
            while (conn.execute("SELECT count(*) FROM inventory_reservation").fetchone() or (0,))[0] < target:
                if time.monotonic() - started > 600:
                    raise TimeoutError("reservations did not finish in 10 minutes")
                time.sleep(0.05)
        elapsed = time.monotonic() - started
        print(
            f"reservations through the consumer: {options.orders} orders in {elapsed:.1f} s = "
            f"{options.orders / elapsed:.0f} reservations/s (one inventory consumer process, 1-3 lines each)"
        )
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
