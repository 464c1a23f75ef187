"""One request id follows an order from the gateway through the service, its gRPC call and the events it caused."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable

import httpx
import pytest

from shared.testing import wait_until

pytestmark = pytest.mark.e2e


def lines_with(stack, process: str, request_id: str) -> list[dict]:
    """The JSON log lines (application logs and gunicorn's access log) of ``process`` that carry ``request_id``."""
    found = []
    for line in stack.log(process).splitlines():
        if request_id in line:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("request_id") == request_id:
                found.append(entry)
    return found


def access_line(request: str, status: int) -> Callable[[dict], bool]:
    """Gunicorn's access-log line for ``request`` ("METHOD /path") answered with ``status``, with the time the
    request waited for a worker thread (``queue_ms``: what load shedding judges)."""
    return lambda entry: (
        entry.get("request", "").startswith(f"{request} HTTP/")
        and entry.get("status") == status
        and isinstance(entry.get("queue_ms"), int)
    )


def message(pattern: str) -> Callable[[dict], bool]:
    return lambda entry: re.match(pattern, entry.get("message", "")) is not None


def test_one_request_id_follows_an_order_across_processes(stack):
    gateway = stack.url("gateway")
    email = f"trace-{uuid.uuid4().hex[:10]}@example.com"
    httpx.post(
        f"{gateway}/api/v1/auth/register", json={"email": email, "password": "correct-horse-battery-42"}, timeout=30
    ).raise_for_status()
    access = httpx.post(
        f"{gateway}/api/v1/auth/token", json={"email": email, "password": "correct-horse-battery-42"}, timeout=30
    ).json()["access"]
    product = httpx.get(f"{gateway}/api/v1/products?in_stock=true&page_size=1", timeout=10).json()["results"][0]
    request_id = f"trace-{uuid.uuid4().hex}"
    placed = httpx.post(
        f"{gateway}/api/v1/orders",
        json={"items": [{"product_id": product["id"], "quantity": 1}], "payment_method": "pm_card_visa"},
        headers={"Authorization": f"Bearer {access}", "Idempotency-Key": uuid.uuid4().hex, "X-Request-ID": request_id},
        timeout=30,
    )
    assert placed.status_code == 201, placed.text
    assert placed.headers["X-Request-ID"] == request_id

    # The gateway and the order service logged the request; the product service's gRPC server logged the
    # price lookup; inventory applied order.placed and order_svc applied inventory's answer, all under one id.
    expected = {
        "gateway-web": access_line("POST /api/v1/orders", 201),
        "order-web": access_line("POST /api/v1/orders", 201),
        "product-grpc": message(r"grpc /shop\.product\.v1\.ProductService/GetProducts OK "),
        "inventory-consumer": message(r"applied order\.placed "),
        "order-consumer": message(r"applied inventory\.(reserved|reservation_failed) "),
    }
    for process, matches in expected.items():

        def logged(process: str = process, matches: Callable[[dict], bool] = matches) -> bool:
            return any(matches(entry) for entry in lines_with(stack, process, request_id))

        wait_until(
            logged,
            timeout=30,
            interval=0.2,
            what=f"{request_id} in {process}'s log",
        )
