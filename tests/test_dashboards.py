"""Every Grafana panel shows data: a real Prometheus scrapes the stack under a short load, then each query runs.

The Prometheus comes from ``ops/monitor.py`` with the compose configuration (copied byte for byte)
and targets written from the stack's processes; the load goes through the gateway: sign-ins,
browsing, orders confirmed, rejected, cancelled, shipped and delivered, a 404. Then every target
expression of every dashboard in ``compose/grafana/dashboards/`` must return at least one series.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops import monitor
from ops.isolated import Stack
from ops.paths import ProvisionError
from ops.procs import free_port
from shared.testing import wait_until
from tests.shop import bearer
from tests.test_compose import ALERTS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "compose" / "grafana" / "dashboards"
SCRAPE_INTERVAL_SECONDS = 5
# Grafana's built-in variables, as Grafana would fill them for a 1-hour view at this scrape interval.
BUILTIN_VARIABLES = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
PASSWORD = "correct-horse-battery-42"


@pytest.fixture(scope="module")
def prometheus(stack: Stack) -> Iterator[monitor.LocalPrometheus]:
    home = stack.state_file.parent / "prometheus"
    server = monitor.LocalPrometheus(free_port(), home, stack.log_dir / "prometheus.log", home / "prometheus.pid")
    try:
        server.start(stack.processes)
    except ProvisionError as exc:
        # Never a skip: a machine that cannot run Prometheus cannot show the dashboards work.
        pytest.fail(f"no Prometheus for the dashboard test: {exc}")
    yield server
    assert server.stop(), f"prometheus (pid file {server.pid_file}) was not running at the end"


# --------------------------------------------------------------------------------------------
# The load


def sign_in(gateway: str, email: str, password: str) -> dict[str, str]:
    answer = httpx.post(f"{gateway}/api/v1/auth/token", json={"email": email, "password": password}, timeout=30)
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access"])


def order_status(gateway: str, headers: dict[str, str], order_id: str) -> str:
    answer = httpx.get(f"{gateway}/api/v1/orders/{order_id}", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["status"])


def settled(gateway: str, headers: dict[str, str], order_id: str) -> str:
    return wait_until(
        lambda: (status := order_status(gateway, headers, order_id)) != "pending" and status,
        timeout=30,
        interval=0.1,
        what=f"order {order_id} to leave pending",
    )


def place(gateway: str, headers: dict[str, str], items: list[dict[str, Any]], key: str) -> httpx.Response:
    return httpx.post(
        f"{gateway}/api/v1/orders",
        json={"items": items, "payment_method": "pm_card_visa"},
        headers=headers | {"Idempotency-Key": key},
        timeout=30,
    )


def drive_load(stack: Stack) -> None:
    """The traffic every panel needs, through the gateway, until its effects are settled."""
    gateway = stack.url("gateway")
    staff = sign_in(gateway, "staff@example.com", "demo-pass-123")
    email = f"watcher-{uuid.uuid4().hex[:12]}@example.com"
    registered = httpx.post(f"{gateway}/api/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=30)
    assert registered.status_code == 201, registered.text
    customer = sign_in(gateway, email, PASSWORD)
    assert httpx.get(f"{gateway}/api/v1/users/me", headers=customer, timeout=10).status_code == 200

    listing = httpx.get(f"{gateway}/api/v1/products", params={"in_stock": "true", "page_size": 10}, timeout=10)
    assert listing.status_code == 200, listing.text
    products = [product["id"] for product in listing.json()["results"]]
    assert len(products) >= 4, f"the demo catalog should have in-stock products: {listing.text}"
    for product_id in products[:3]:
        assert httpx.get(f"{gateway}/api/v1/products/{product_id}", timeout=10).status_code == 200

    def reserved(product_id: str) -> int:
        answer = httpx.get(f"{gateway}/api/v1/inventory/{product_id}", headers=staff, timeout=10)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["reserved"])

    reserved_before = reserved(products[0])

    # Three orders (each prices its lines through product_svc's gRPC GetProducts), one sent twice.
    orders = []
    for index in range(3):
        key = uuid.uuid4().hex
        answer = place(gateway, customer, [{"product_id": products[index], "quantity": 1}], key)
        assert answer.status_code == 201, answer.text
        orders.append(answer.json()["id"])
        if index == 0:
            again = place(gateway, customer, [{"product_id": products[index], "quantity": 1}], key)
            assert again.status_code in {200, 201} and again.json()["id"] == answer.json()["id"], again.text
    # More than any demo product has (5 to 100 units): inventory refuses, the order ends rejected.
    short = place(gateway, customer, [{"product_id": products[3], "quantity": 1000}], uuid.uuid4().hex)
    assert short.status_code == 201, short.text

    assert [settled(gateway, customer, order_id) for order_id in orders] == ["confirmed"] * 3
    assert settled(gateway, customer, short.json()["id"]) == "rejected"

    cancelled = httpx.post(f"{gateway}/api/v1/orders/{orders[0]}/cancel", headers=customer, timeout=10)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    for status in ("shipped", "delivered"):
        moved = httpx.post(
            f"{gateway}/api/v1/orders/{orders[1]}/status", json={"status": status}, headers=staff, timeout=10
        )
        assert moved.status_code == 200, moved.text

    missing = httpx.get(f"{gateway}/api/v1/no-such-thing", timeout=10)
    assert missing.status_code == 404, missing.text
    # The cancellation reached inventory, which released the reservation.
    wait_until(lambda: reserved(products[0]) == reserved_before, timeout=30, what="the cancelled order's release")


def scraped_twice_since(prometheus: monitor.LocalPrometheus, moment: float) -> bool:
    """Every target's last scrape began a full interval after ``moment``: two scrapes saw the load's end."""
    for target in prometheus.active_targets():
        last = datetime.fromisoformat(target["lastScrape"].replace("Z", "+00:00")).timestamp()
        if last < moment + SCRAPE_INTERVAL_SECONDS:
            return False
    return True


# --------------------------------------------------------------------------------------------
# The dashboards


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # inside a collapsed row


def variable_values(dashboard: dict[str, Any]) -> dict[str, str]:
    """What each template variable stands for when "All" (or its only value) is selected."""
    values = dict(BUILTIN_VARIABLES)
    for variable in dashboard.get("templating", {}).get("list", []):
        name = variable["name"]
        if variable.get("includeAll"):
            values[name] = variable.get("allValue") or ".*"
        elif variable.get("type") in {"constant", "custom", "textbox"}:
            current = variable.get("current", {}).get("value") or variable.get("query", "")
            values[name] = current[0] if isinstance(current, list) else str(current)
        else:
            raise AssertionError(f"{dashboard['title']}: teach this test variable {name} ({variable.get('type')})")
    return values


def substitute(expr: str, values: dict[str, str]) -> str:
    for name in sorted(values, key=len, reverse=True):
        # The value taken literally: a replacement string only reads backslashes (\1, \g<name>).
        literal = values[name].replace("\\", "\\\\")
        expr = re.sub(rf"\$\{{{name}(?::\w+)?\}}|\[\[{name}\]\]|\${name}\b", literal, expr)
    assert "$" not in expr, f"an unknown variable is left in {expr!r}"
    return expr


def panel_queries() -> Iterator[tuple[str, str]]:
    """(where, PromQL ready to run) for every target of every panel."""
    for name, dashboard in dashboards().items():
        values = variable_values(dashboard)
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                yield f"{name} / {panel['title']} / {target['refId']}", substitute(target["expr"], values)


# --------------------------------------------------------------------------------------------
# The test


def test_every_dashboard_panel_has_data(stack: Stack, prometheus: monitor.LocalPrometheus) -> None:
    # The same configuration as the containers, with this stack's processes as targets.
    for name in monitor.CONFIG_FILES:
        assert (prometheus.home / name).read_bytes() == (monitor.CONFIG_DIR / name).read_bytes(), name

    targets = prometheus.wait_until_targets_up(timeout=60)
    down = [line for line in monitor.describe_targets(targets) if not line.rstrip().endswith(" up")]
    assert not [t for t in targets if t["health"] != "up"], "targets not up:\n" + "\n".join(down)
    scraped = {(t["labels"]["service"], t["labels"]["process"], t["labels"]["job"]) for t in targets}
    expected = {
        (process.service, process.kind, process.kind) for process in stack.processes if monitor.scrape_port(process)
    }
    assert scraped == expected | {("prometheus", "prometheus", "prometheus")}

    rules = [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]
    assert {rule["name"] for rule in rules if rule["type"] == "alerting"} == ALERTS
    assert all(group["file"].endswith("alerts.yml") for group in prometheus.api("rules")["groups"])

    drive_load(stack)
    load_ended = time.time()
    wait_until(lambda: scraped_twice_since(prometheus, load_ended), timeout=60, interval=0.5, what="two scrapes")

    empty = [f"{where}:\n    {expr}" for where, expr in panel_queries() if not prometheus.query(expr)]
    assert not empty, f"{len(empty)} panel queries returned no data:\n" + "\n".join(empty)

    # Nothing fired during a healthy run.
    firing = [alert for alert in prometheus.api("alerts")["alerts"] if alert["state"] == "firing"]
    assert not firing, f"alerts firing on a healthy stack: {firing}"
