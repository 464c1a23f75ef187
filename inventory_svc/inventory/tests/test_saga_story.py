"""Inventory's part of a saga story (``manage.py saga_story``): the reservation, its movements, the
answer in the outbox and where order.placed was applied; no pending-orders list (orders are not ours)."""

import json
import uuid

import pytest
from django.core.management import call_command

from inventory.services import stock_release
from inventory.tests.factories import StockItemFactory, order_placed
from inventory.tests.helpers import apply

pytestmark = pytest.mark.django_db


def story_of(order_id, capsys):
    call_command("saga_story", str(order_id))
    return json.loads(capsys.readouterr().out)["stories"][str(order_id)]


def test_saga_story_has_the_reservation_its_movements_the_answer_and_the_applied_order_placed(capsys):
    kite = StockItemFactory(sku="KITE", on_hand=10)
    order_id = uuid.uuid4()
    placed = order_placed(order_id, [(kite.product_id, 4)])
    apply(placed)
    stock_release(order_id=order_id, reason="order cancelled")

    story = story_of(order_id, capsys)

    assert story["service"] == "inventory"
    assert story["reservation"]["state"] == "released"
    assert story["reservation"]["lines"] == [{"product_id": str(kite.product_id), "sku": "KITE", "quantity": 4}]
    assert [(m["kind"], m["sku"], m["on_hand_delta"], m["reserved_delta"]) for m in story["movements"]] == [
        ("reservation", "KITE", 0, 4),
        ("release", "KITE", 0, -4),
    ]
    assert [e["type"] for e in story["events"]] == ["inventory.reserved", "inventory.released"]
    assert [(row["type"], row["event_id"]) for row in story["applied"]] == [("order.placed", placed.id)]
    assert "order" not in story


def test_saga_story_of_an_order_inventory_never_saw_is_empty(capsys):
    story = story_of(uuid.uuid4(), capsys)

    assert (story["reservation"], story["movements"], story["events"], story["applied"]) == (None, [], [], [])


def test_stuck_is_not_answered_here(capsys):
    call_command("saga_story", "--stuck")

    assert json.loads(capsys.readouterr().out) == {"pending_orders": None}
