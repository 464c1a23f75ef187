"""The consistency check: joining hand-built facts of the services (ops.consistency, no database), and the
order project's own facts read by ``manage.py consistency_facts`` (shared.consistency)."""

from __future__ import annotations

import json
import uuid
from io import StringIO

import pytest
from django.core.management import call_command

from ops.consistency import check, render
from shared.consistency import facts_part

NOW = "2026-01-01T12:00:00.000000+00:00"
LONG_AGO = "2026-01-01T10:00:00.000000+00:00"
JUST_NOW = "2026-01-01T11:59:55.000000+00:00"
ORDER = "5a1c6a4e-3f7b-4c1e-9d55-0d6f3c2b8a11"
PRODUCT = "7d0e6a4e-3f7b-4c1e-9d55-0d6f3c2b8a22"


def stock(**changes):
    row = {
        "product_id": PRODUCT,
        "sku": "SKU-1",
        "on_hand": 10,
        "reserved": 2,
        "stock_version": 4,
        "updated_at": LONG_AGO,
        "reserved_by_reservations": 2,
        "ledger_on_hand": 10,
        "ledger_reserved": 2,
    }
    return row | changes


def facts(*, status="confirmed", reservation=("reserved", LONG_AGO), order_at=LONG_AGO, stock_row=None, catalog=None):
    quiet = {
        "outbox": {"pending": 0, "oldest_pending_age_seconds": 0.0},
        "dead_letters": {"pending": 0, "oldest": None},
    }
    return {
        "order": quiet
        | {"service": "order", "read_at": NOW, "orders": [[ORDER, status, order_at]], "idempotency_keys_reused": []},
        "inventory": quiet
        | {
            "service": "inventory",
            "read_at": NOW,
            "reservations": {ORDER: list(reservation)} if reservation else {},
            "stock": [stock_row or stock()],
        },
        "product": quiet | {"service": "product", "read_at": NOW, "catalog": catalog or {PRODUCT: [8, 4]}},
        "user": quiet | {"service": "user", "read_at": NOW},
    }


def rules(report):
    return [violation.rule for violation in report.violations]


def test_a_consistent_shop_has_no_violation():
    report = check(facts())
    assert report.ok, report.violations
    assert "consistent: no violation" in render(report)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("confirmed", None),
        ("confirmed", "released"),
        ("rejected", "reserved"),
        ("cancelled", "reserved"),
        ("shipped", "reserved"),
        ("delivered", "released"),
        ("refunded", "released"),  # a refund does not return the stock
        ("pending", "consumed"),
    ],
)
def test_an_order_whose_status_disagrees_with_its_reservation_is_a_violation(status, state):
    report = check(facts(status=status, reservation=(state, LONG_AGO) if state else None))
    assert rules(report) == ["order_matches_reservation"]
    assert f"order is {status}" in str(report.violations[0])


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", None),
        ("pending", "reserved"),
        ("rejected", "failed"),
        ("rejected", None),
        ("cancelled", "released"),
        ("cancelled", "failed"),
        ("shipped", "consumed"),
        ("delivered", "consumed"),
        ("refunded", "consumed"),
        ("rejected", "released"),  # declined payment: inventory released the reservation
    ],
)
def test_an_order_whose_status_agrees_with_its_reservation_passes(status, state):
    assert check(facts(status=status, reservation=(state, LONG_AGO) if state else None)).ok


def test_a_difference_younger_than_the_grace_is_in_flight_not_a_violation():
    report = check(facts(status="confirmed", reservation=("released", JUST_NOW)), grace_seconds=30)
    assert report.ok
    assert [v.rule for v in report.in_flight] == ["order_matches_reservation"]
    assert not check(facts(status="confirmed", reservation=("released", JUST_NOW)), grace_seconds=0).ok


def test_a_reservation_for_an_unknown_order_is_a_violation():
    data = facts()
    data["inventory"]["reservations"][str(uuid.uuid4())] = ["reserved", LONG_AGO]
    assert rules(check(data)) == ["reservation_has_order"]


def test_reserved_must_equal_the_active_reservations_lines():
    report = check(facts(stock_row=stock(reserved=3, ledger_reserved=3), catalog={PRODUCT: [7, 4]}))
    assert rules(report) == ["reserved_matches_reservations"]


def test_levels_out_of_bounds_are_a_violation():
    row = stock(on_hand=1, reserved=2, ledger_on_hand=1)
    assert "levels_in_bounds" in rules(check(facts(stock_row=row, catalog={PRODUCT: [-1, 4]})))


def test_the_ledger_must_sum_to_the_levels():
    assert rules(check(facts(stock_row=stock(ledger_on_hand=9)))) == ["ledger_matches_levels"]


def test_the_catalog_must_show_inventorys_available_at_the_same_stock_version():
    assert rules(check(facts(catalog={PRODUCT: [7, 4]}))) == ["catalog_matches_inventory"]
    assert rules(check(facts(catalog={PRODUCT: [8, 5]}))) == ["catalog_matches_inventory"]  # ahead of inventory


def test_a_catalog_behind_inventory_is_in_flight_only_while_the_change_is_recent():
    behind = {PRODUCT: [9, 3]}
    assert rules(check(facts(catalog=behind))) == ["catalog_matches_inventory"]
    recent = check(facts(catalog=behind, stock_row=stock(updated_at=JUST_NOW)))
    assert recent.ok
    assert [v.rule for v in recent.in_flight] == ["catalog_matches_inventory"]


def test_a_reused_idempotency_key_and_an_unreachable_service_are_violations():
    data = facts()
    data["order"]["idempotency_keys_reused"] = [{"customer_id": "c", "key": "k", "rows": 2, "orders": 2}]
    del data["user"]
    report = check(data, unreachable={"user": "connection refused"})
    assert sorted(rules(report)) == ["one_order_per_idempotency_key", "service_unreachable"]
    assert "violation(s)" in render(report)


def test_outbox_backlog_and_dead_letters_are_reported_per_service():
    data = facts()
    data["inventory"]["outbox"] = {"pending": 3, "oldest_pending_age_seconds": 12.5}
    data["order"]["dead_letters"] = {"pending": 1, "oldest": LONG_AGO}
    report = check(data)
    assert report.ok
    assert report.services["inventory"]["outbox"]["pending"] == 3
    assert report.services["order"]["dead_letters"]["pending"] == 1
    assert "outbox backlog 3 (oldest 12.5s)" in render(report)


@pytest.mark.django_db
def test_consistency_facts_prints_this_services_facts_as_json():
    out = StringIO()
    call_command("consistency_facts", stdout=out)
    answer = json.loads(out.getvalue().strip().splitlines()[-1])
    assert answer["service"] == "order"
    assert answer["outbox"]["pending"] >= 0
    assert answer["dead_letters"] == {"pending": 0, "oldest": None}
    assert isinstance(answer["orders"], list)
    assert answer["idempotency_keys_reused"] == []


def test_a_facts_part_has_one_owner():
    with pytest.raises(ValueError):
        facts_part("outbox")
    with pytest.raises(RuntimeError):
        facts_part("orders")(lambda: None)
