"""One request id follows an order from the gateway through the service, its gRPC call and the events it caused."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from shared.testing import wait_until

pytestmark = pytest.mark.e2e


def lines_with(stack, process: str, request_id: str) -> list[dict]:
    found = []
    for line in stack.log(process).splitlines():
        if request_id in line:
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


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
        json={"items": [{"product_id": product["id"], "quantity": 1}]},
        headers={"Authorization": f"Bearer {access}", "Idempotency-Key": uuid.uuid4().hex, "X-Request-ID": request_id},
        timeout=30,
    )
    assert placed.status_code == 201, placed.text
    assert placed.headers["X-Request-ID"] == request_id

    # The gateway and the order service logged the request; the product service's gRPC server logged the
    # price lookup; inventory applied order.placed and order_svc applied inventory's answer, all under one id.
    expected = {
        "gateway-web": lambda entry: True,
        "order-web": lambda entry: True,
        "product-grpc": lambda entry: "GetProducts" in entry.get("message", ""),
        "inventory-consumer": lambda entry: entry.get("message", "").startswith("applied order.placed"),
        "order-consumer": lambda entry: entry.get("message", "").startswith("applied inventory."),
    }
    for process, matches in expected.items():
        wait_until(
            lambda process=process, matches=matches: any(matches(e) for e in lines_with(stack, process, request_id)),
            timeout=30,
            interval=0.2,
            what=f"{request_id} in {process}'s log",
        )
