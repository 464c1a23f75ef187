"""``manage_all.py check_consistency`` (ops.consistency) on real processes: a healthy stack passes, and a planted
inconsistency in inventory's database (a stock row's ``reserved`` bumped behind the services' back) fails it,
naming the product and the rules it breaks."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import psycopg
import pytest

from ops import consistency
from ops.isolated import Stack
from shared.testing import wait_until
from shared.topology import DOMAIN_SERVICES
from tests.shop import customer, new_product, place, settled

pytestmark = pytest.mark.e2e


def check(stack: Stack, *, grace: float = consistency.DEFAULT_GRACE_SECONDS) -> tuple[int, dict]:
    out, err = io.StringIO(), io.StringIO()
    code = consistency.run(
        as_json=True, grace_seconds=grace, env_for=lambda spec: stack.env(spec.name), out=out, err=err
    )
    assert not err.getvalue(), err.getvalue()
    return code, json.loads(out.getvalue())


@pytest.fixture
def confirmed_order(stack: Stack, staff: dict[str, str]) -> tuple[dict, str]:
    """A product of this test's own with a confirmed order on it, once the catalog shows its last stock change."""
    item = new_product(stack, staff, available=5)
    buyer = customer(stack)
    order_id = place(stack, buyer, [{"product_id": item["id"], "quantity": 2}]).json()["id"]
    assert settled(stack, buyer, order_id)["status"] == "confirmed"
    return item, order_id


@pytest.fixture
def reserved_bumped(stack: Stack, confirmed_order: tuple[dict, str]) -> Iterator[str]:
    """Plants an inconsistency: one more unit reserved on the product than its reservations hold. Undone after."""
    item, _ = confirmed_order
    with psycopg.connect(stack.database_url("inventory"), autocommit=True) as db:
        db.execute("UPDATE inventory_stockitem SET reserved = reserved + 1 WHERE product_id = %s", [item["id"]])
    yield item["id"]
    with psycopg.connect(stack.database_url("inventory"), autocommit=True) as db:
        db.execute("UPDATE inventory_stockitem SET reserved = reserved - 1 WHERE product_id = %s", [item["id"]])


def test_a_healthy_stack_is_consistent(stack, confirmed_order):
    # Once every outbox drained and the catalog caught up, nothing is in flight and nothing is violated.
    _, report = wait_until(
        lambda: (found := check(stack, grace=0))[0] == 0 and found,
        timeout=30,
        what="the stack to be consistent with no grace",
    )
    assert report["ok"] and report["violations"] == []
    assert report["counts"]["orders"] >= 1
    assert set(report["services"]) == {spec.name for spec in DOMAIN_SERVICES}


def test_a_planted_inconsistency_fails_the_check_and_names_the_product(stack, reserved_bumped):
    code, report = check(stack)
    assert code == consistency.VIOLATED
    assert not report["ok"]
    mine = {v["rule"] for v in report["violations"] if reserved_bumped in v["subject"]}
    # The row no longer matches its reservations nor its ledger, and the catalog (same stock version) shows less.
    assert mine == {"reserved_matches_reservations", "ledger_matches_levels", "catalog_matches_inventory"}
