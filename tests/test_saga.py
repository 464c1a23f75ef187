"""``manage_all.py saga`` (ops.saga) on real processes: a confirmed order's story, and a stuck order
(its order.placed dead-lettered by inventory) listed by ``--stuck`` and brought to confirmed by ``--redrive``."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator

import pytest

from ops import saga
from ops.isolated import Stack
from shared.testing import wait_until
from tests.shop import ReservationFault, customer, new_product, place, products, set_available, settled

pytestmark = pytest.mark.e2e


def env_for(stack: Stack) -> saga.EnvFor:
    return lambda spec: stack.env(spec.name)


def run(stack: Stack, order_id: str | None = None, **options) -> tuple[int, str, str]:
    """``manage_all.py saga`` against the test stack: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = saga.run(
        order_id=order_id,
        stuck_only=options.get("stuck", False),
        older_than=options.get("older_than", saga.DEFAULT_OLDER_THAN),
        as_json=options.get("json", False),
        redrive_it=options.get("redrive", False),
        env_for=env_for(stack),
        out=out,
        err=err,
    )
    return code, out.getvalue(), err.getvalue()


def story(stack: Stack, order_id: str) -> dict:
    code, out, err = run(stack, order_id, json=True)
    assert code == 0, err
    return json.loads(out)


def test_a_confirmed_orders_story_shows_every_step_across_the_services(stack, staff):
    buyer = customer(stack)
    first, second = products(stack, 2, offset=26)
    set_available(stack, staff, first["id"], 10)
    set_available(stack, staff, second["id"], 10)
    items = [{"product_id": first["id"], "quantity": 2}, {"product_id": second["id"], "quantity": 1}]
    order_id = place(stack, buyer, items).json()["id"]
    assert settled(stack, buyer, order_id)["status"] == "confirmed"
    # The order relay marks inventory.reserved published a moment after the order service applied it.
    told = wait_until(
        lambda: (found := story(stack, order_id)) and all(e["state"] == "published" for e in found["events"]) and found,
        timeout=30,
        what="every event of the order to be published",
    )

    assert told["order"]["status"] == "confirmed"
    assert [step["status"] for step in told["history"]] == ["pending", "confirmed"]
    placed = [e for e in told["events"] if e["type"] == "order.placed"]
    assert [(e["service"], e["state"]) for e in placed] == [("order", "published")]
    reserved = [e for e in told["events"] if e["type"] == "inventory.reserved"]
    assert [e["service"] for e in reserved] == ["inventory"]
    applied = {(row["service"], row["event_id"]) for row in told["applied"]}
    assert ("inventory", placed[0]["event_id"]) in applied
    assert ("order", reserved[0]["event_id"]) in applied
    assert told["reservation"]["state"] == "reserved"
    assert sorted((line["product_id"], line["quantity"]) for line in told["reservation"]["lines"]) == sorted(
        [(first["id"], 2), (second["id"], 1)]
    )
    assert sorted((m["kind"], m["product_id"], m["reserved_delta"]) for m in told["movements"]) == sorted(
        [("reservation", first["id"], 2), ("reservation", second["id"], 1)]
    )
    assert told["dead_letters"] == []
    assert told["waiting_on"] is None

    code, text, _ = run(stack, order_id)
    assert code == 0
    assert text.splitlines()[0].startswith(f"Order {order_id}: confirmed, customer buyer-")
    assert "Waiting on: nothing (the order is confirmed)" in text
    assert (
        run(stack, order_id, redrive=True)[1].splitlines()[-1] == f"nothing to re-drive: order {order_id} is confirmed"
    )


def test_an_unknown_order_exits_1_and_a_bad_id_exits_2(stack):
    unknown = str(uuid.uuid4())
    assert run(stack, unknown) == (1, "", f"no order has the id {unknown}\n")
    assert run(stack, "order-42") == (2, "", "'order-42' is not an order id (order ids are UUIDs)\n")


@pytest.fixture
def refused_reservations(stack: Stack, provoked) -> Iterator[ReservationFault]:
    """Lifted after the test whatever happens, so no other test meets the fault."""
    # Inventory's consumer logs the refusal's traceback when it dead-letters the event.
    provoked.traceback(r"test fault: reservations of \S+ are refused")
    fault = ReservationFault(stack)
    yield fault
    fault.lift()


def test_a_dead_lettered_order_placed_is_listed_as_stuck_and_redrive_confirms_it_once(
    stack, staff, refused_reservations
):
    buyer = customer(stack)
    faulty, fine = new_product(stack, staff, available=10), new_product(stack, staff, available=10)
    refused_reservations.refuse(faulty["id"])
    items = [{"product_id": faulty["id"], "quantity": 3}, {"product_id": fine["id"], "quantity": 1}]
    order_id = place(stack, buyer, items).json()["id"]

    # Inventory's handler fails CONSUMER_MAX_ATTEMPTS (5) times, then dead-letters order.placed.
    told = wait_until(
        lambda: (found := story(stack, order_id))["dead_letters"] and found,
        timeout=60,
        interval=0.5,
        what="inventory to dead-letter order.placed",
    )
    (letter,) = told["dead_letters"]
    placed = next(e for e in told["events"] if e["type"] == "order.placed")
    assert (letter["service"], letter["type"], letter["event_id"]) == ("inventory", "order.placed", placed["event_id"])
    assert "reservations of" in letter["reason"]
    assert told["order"]["status"] == "pending"
    assert told["reservation"] is None
    assert told["waiting_on"] == f"inventory to apply order.placed (dead-lettered: {letter['reason']})"

    code, listed, _ = run(stack, stuck=True, older_than=0)
    assert code == 0
    line = next(line for line in listed.splitlines() if order_id in line)
    assert f"waiting on: inventory to apply order.placed (dead-lettered: {letter['reason']})" in line

    refused_reservations.lift()
    code, said, _ = run(stack, order_id, redrive=True)
    assert code == 0
    assert f"[order] order.placed {placed['event_id']} is pending again in the order outbox" in said
    assert settled(stack, buyer, order_id)["status"] == "confirmed"

    code, again, _ = run(stack, order_id, redrive=True)
    assert code == 0
    assert again.splitlines()[-1] == f"nothing to re-drive: order {order_id} is confirmed"
    after = story(stack, order_id)
    assert after["reservation"]["state"] == "reserved"
    assert sorted((line["product_id"], line["quantity"]) for line in after["reservation"]["lines"]) == sorted(
        [(faulty["id"], 3), (fine["id"], 1)]
    )
    assert sorted((m["kind"], m["product_id"], m["reserved_delta"]) for m in after["movements"]) == sorted(
        [("reservation", faulty["id"], 3), ("reservation", fine["id"], 1)]
    )
    assert [step["status"] for step in after["history"]] == ["pending", "confirmed"]
    # Applied once by each of its consumers.
    assert sorted(row["service"] for row in after["applied"] if row["type"] == "order.placed") == [
        "inventory",
        "payment",
    ]
    assert {row["event_id"] for row in after["applied"] if row["type"] == "order.placed"} == {placed["event_id"]}


def test_manage_all_saga_runs_in_the_environment_of_the_running_stack(stack, monkeypatch, capsys):
    import manage_all

    monkeypatch.setattr(manage_all, "STATE_FILE", stack.state_file)
    monkeypatch.setattr("sys.argv", ["manage_all.py", "saga", "--stuck", "--older-than", "3600"])

    assert manage_all.main() == 0
    assert capsys.readouterr().out == "no order has been pending for more than 3600s\n"
