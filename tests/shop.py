"""What the cross-service tests do as a client of the shop, through the gateway: one copy of each step.

Sign in, register a customer, place, read and move orders on, read and set stock and its ledger, read
a process's metrics. Every helper asserts the answer it expects, so a failing step names itself.
"""

from __future__ import annotations

import uuid

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from ops.isolated import Stack
from shared.testing import wait_until

PASSWORD = "correct-horse-battery-42"
STAFF_EMAIL = "staff@example.com"  # the demo staff user seed_demo creates
STAFF_PASSWORD = "demo-pass-123"
SETTLED = frozenset({"confirmed", "rejected", "cancelled"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_pair(stack: Stack, email: str, password: str = PASSWORD) -> dict[str, str]:
    """A fresh ``{"access": ..., "refresh": ...}`` for these credentials."""
    answer = httpx.post(
        stack.url("gateway", "/api/v1/auth/token"), json={"email": email, "password": password}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def sign_in(stack: Stack, email: str, password: str = PASSWORD) -> dict[str, str]:
    """The Authorization header of a fresh access token for these credentials."""
    return bearer(token_pair(stack, email, password)["access"])


def staff_headers(stack: Stack) -> dict[str, str]:
    return sign_in(stack, STAFF_EMAIL, STAFF_PASSWORD)


def register(stack: Stack, prefix: str = "buyer") -> tuple[str, str]:
    """A new customer account with password :data:`PASSWORD`: (its id, its email)."""
    email = f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"
    answer = httpx.post(
        stack.url("gateway", "/api/v1/auth/register"), json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], email


def customer(stack: Stack) -> dict[str, str]:
    """A new customer, registered and signed in: the Authorization header to use."""
    _, email = register(stack)
    return sign_in(stack, email, PASSWORD)


def place(
    stack: Stack,
    headers: dict[str, str],
    items: list[dict],
    key: str | None = None,
    payment_method: str = "pm_card_visa",
) -> httpx.Response:
    """Places an order through the gateway, paid with the sandbox's card that always succeeds by default."""
    return httpx.post(
        stack.url("gateway", "/api/v1/orders"),
        json={"items": items, "payment_method": payment_method},
        headers=headers | {"Idempotency-Key": key or uuid.uuid4().hex},
        timeout=30,
    )


def cart(stack: Stack, headers: dict[str, str]) -> dict:
    """The customer's cart, priced now (``GET /api/v1/cart``)."""
    answer = httpx.get(stack.url("gateway", "/api/v1/cart"), headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def cart_put(stack: Stack, headers: dict[str, str], product_id: str, quantity: int) -> httpx.Response:
    """Sets how many of the product the customer's cart holds (0 removes it)."""
    return httpx.put(
        stack.url("gateway", f"/api/v1/cart/items/{product_id}"),
        json={"quantity": quantity},
        headers=headers,
        timeout=10,
    )


def cart_merge(stack: Stack, headers: dict[str, str], items: list[dict]) -> httpx.Response:
    return httpx.post(stack.url("gateway", "/api/v1/cart/merge"), json={"items": items}, headers=headers, timeout=30)


def checkout(
    stack: Stack, headers: dict[str, str], key: str | None = None, payment_method: str = "pm_card_visa"
) -> httpx.Response:
    """Checks the customer's cart out, paid with the sandbox's card that always succeeds by default."""
    return httpx.post(
        stack.url("gateway", "/api/v1/cart/checkout"),
        json={"payment_method": payment_method},
        headers=headers | {"Idempotency-Key": key or uuid.uuid4().hex},
        timeout=30,
    )


def order(stack: Stack, headers: dict[str, str], order_id: str) -> dict:
    answer = httpx.get(stack.url("gateway", f"/api/v1/orders/{order_id}"), headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def settled(stack: Stack, headers: dict[str, str], order_id: str, timeout: float = 30) -> dict:
    """The order once it left ``pending`` (confirmed, rejected or cancelled)."""
    return wait_until(
        lambda: (found := order(stack, headers, order_id))["status"] in SETTLED and found,
        timeout=timeout,
        interval=0.1,
        what=f"order {order_id} to settle",
    )


def set_status(stack: Stack, staff: dict[str, str], order_id: str, status: str) -> dict:
    """Staff move the order on (``shipped`` or ``delivered``); the order as the answer shows it."""
    answer = httpx.post(
        stack.url("gateway", f"/api/v1/orders/{order_id}/status"), json={"status": status}, headers=staff, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def payment(stack: Stack, staff: dict[str, str], order_id: str) -> dict:
    """The order's payment as staff read it (``GET /api/v1/payments/{order_id}``)."""
    answer = httpx.get(stack.url("gateway", f"/api/v1/payments/{order_id}"), headers=staff, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def payment_status_becomes(stack: Stack, headers: dict[str, str], order_id: str, status: str) -> dict:
    """The order once its ``payment_status`` (the projection of payment events) is ``status``."""
    return wait_until(
        lambda: (found := order(stack, headers, order_id))["payment_status"] == status and found,
        timeout=30,
        interval=0.1,
        what=f"order {order_id}'s payment_status to become {status}",
    )


def sandbox_ledger(stack: Stack, order_id: str) -> list[tuple[str, str, int]]:
    """What the sandbox provider did for the order, from its own records: ``(operation, answer, calls)`` per
    idempotency key, oldest first. ``answer`` is the payment's status after a success, empty after a decline
    or a timeout; ``calls`` counts repeats of the key. Found by the order's reference on the authorization and
    the payment id it got, so the count does not depend on the keys the payment service sends."""
    with psycopg.connect(stack.database_url("payment")) as conn:
        rows = conn.execute(
            "SELECT operation, status, calls FROM payments_sandboxcharge WHERE provider_id IN "
            "(SELECT provider_id FROM payments_sandboxcharge WHERE reference = %s) ORDER BY created_at, id",
            [order_id],
        ).fetchall()
    return [(str(operation), str(status), int(calls)) for operation, status, calls in rows]


def product(stack: Stack, product_id: str) -> dict:
    answer = httpx.get(stack.url("gateway", f"/api/v1/products/{product_id}"), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def products(stack: Stack, count: int, offset: int = 0) -> list[dict]:
    """``count`` demo products (SKUs DEMO-0001 to DEMO-0050), by name, skipping the first ``offset``.

    Tests take disjoint slices. Only the seeded demo products count: products other tests create
    (:func:`new_product`) would otherwise shift every slice after them.
    """
    listing = httpx.get(
        stack.url("gateway", f"/api/v1/products?search=DEMO-&ordering=name&page_size={count + offset}"), timeout=10
    ).json()
    found = [item for item in listing["results"] if item["sku"].startswith("DEMO-")][offset : offset + count]
    assert len(found) == count, f"only {len(found)} demo products at offset {offset}"
    return found


def stock(stack: Stack, staff: dict[str, str], product_id: str) -> dict:
    answer = httpx.get(stack.url("gateway", f"/api/v1/inventory/{product_id}"), headers=staff, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def movements(stack: Stack, staff: dict[str, str], product_id: str) -> list[dict]:
    """The product's ledger, newest first (its first 100 movements)."""
    answer = httpx.get(
        stack.url("gateway", f"/api/v1/inventory/{product_id}/movements?page_size=100"), headers=staff, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def set_available(stack: Stack, staff: dict[str, str], product_id: str, available: int) -> None:
    """Adjusts the product's stock on hand so that exactly ``available`` can be ordered."""
    delta = available - stock(stack, staff, product_id)["available"]
    if delta:
        answer = httpx.post(
            stack.url("gateway", f"/api/v1/inventory/{product_id}/adjustments"),
            json={"delta": delta, "reason": "e2e setup"},
            headers=staff,
            timeout=10,
        )
        assert answer.status_code == 201, answer.text


def new_product(stack: Stack, staff: dict[str, str], *, available: int, price: str = "9.99") -> dict:
    """A product of the test's own (staff API), once inventory has its stock row, with ``available`` in stock."""
    sku = f"E2E-{uuid.uuid4().hex[:10].upper()}"
    answer = httpx.post(
        stack.url("gateway", "/api/v1/products"),
        json={"sku": sku, "name": f"Test product {sku}", "price": price},
        headers=staff,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    wait_until(
        lambda: (
            httpx.get(stack.url("gateway", f"/api/v1/inventory/{created['id']}"), headers=staff, timeout=10).status_code
            == 200
        ),
        timeout=30,
        interval=0.1,
        what=f"inventory's stock row of {sku}",
    )
    set_available(stack, staff, created["id"], available)
    return created


def metric_value(body: str, sample_name: str, **labels: str) -> float:
    """The sum of the samples named ``sample_name`` whose labels include ``labels`` (0 if none)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == sample_name and labels.items() <= sample.labels.items()
    )


def process_metric(stack: Stack, process: str, sample_name: str, **labels: str) -> float:
    """``metric_value`` read from a non-web process's own metrics port (e.g. ``inventory-consumer``)."""
    body = httpx.get(f"http://127.0.0.1:{stack.ports.metrics[process]}/metrics", timeout=10).text
    return metric_value(body, sample_name, **labels)


class TableFault:
    """Makes writes to one table of a service's database in the test stack fail or stall: a row trigger.

    The trigger runs inside the writer's own transaction, so a stalled write holds that transaction open:
    the moment to kill the process that made it.
    """

    def __init__(self, stack: Stack, service: str, table: str, event: str = "INSERT") -> None:
        self.database_url = stack.database_url(service)
        self.table, self.event = table, event
        self.name = f"test_fault_{uuid.uuid4().hex[:8]}"

    def refuse_where(self, when: str, message: str) -> None:
        """Each write whose row matches the SQL condition ``when`` fails with ``message``."""
        self._install(when, "RAISE EXCEPTION '%', " + sql.quote(message) + ";")

    def delay_where(self, when: str, seconds: float) -> None:
        """Each write whose row matches ``when`` waits ``seconds`` first (a ``PgSleep`` wait in pg_stat_activity)."""
        self._install(when, f"PERFORM pg_sleep({float(seconds)}); RETURN NEW;")

    def sleeping(self) -> bool:
        """Whether a writer is inside the delay right now, its transaction open."""
        with psycopg.connect(self.database_url, autocommit=True) as db:
            row = db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'"
            ).fetchone()
        return bool(row and row[0])

    def _install(self, when: str, body: str) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as db:
            db.execute(f"CREATE FUNCTION {self.name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} END $$")
            db.execute(
                f"CREATE TRIGGER {self.name} BEFORE {self.event} ON {self.table} FOR EACH ROW "
                f"WHEN ({when}) EXECUTE FUNCTION {self.name}()"
            )

    def lift(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as db:
            db.execute(f"DROP TRIGGER IF EXISTS {self.name} ON {self.table}")
            db.execute(f"DROP FUNCTION IF EXISTS {self.name}()")


class ReservationFault(TableFault):
    """Makes inventory's reservation of one product fail or stall, inside the consumer's handler transaction
    (``order.placed`` reserves the lines)."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack, "inventory", "inventory_reservationline")

    def refuse(self, product_id: str) -> None:
        product = uuid.UUID(product_id)
        self.refuse_where(f"NEW.product_id = '{product}'", f"test fault: reservations of {product} are refused")

    def delay(self, product_id: str, seconds: float) -> None:
        self.delay_where(f"NEW.product_id = '{uuid.UUID(product_id)}'", seconds)
