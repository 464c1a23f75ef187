"""The saga story: merging the services' local parts, the step a pending order waits on, the text, and
re-sending an outbox event. The pure parts need no database; the reads and the resend use the order project's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from shared.events import OUTBOX_CHANNEL, Envelope, publish
from shared.models import DeadLetter, OutboxEvent, ProcessedEvent
from shared.relay import ResendOutcome, outbox_resend
from shared.saga import local_story, merge, next_step, render, waiting_on
from shared.tests.conftest import database_url

ORDER_ID = "5a1c6a4e-3f7b-4c1e-9d55-0d6f3c2b8a11"
PLACED_ID = "00000000-0000-4000-8000-000000000001"
RESERVED_ID = "00000000-0000-4000-8000-000000000002"


def event(service, type_, event_id, *, state="published", at="2026-01-01T10:00:01.000000+00:00", error=""):
    return {
        "service": service,
        "type": type_,
        "event_id": event_id,
        "state": state,
        "attempts": 3 if error else 0,
        "created_at": at,
        "sent_at": at if state == "published" else None,
        "last_error": error,
    }


def applied(service, type_, event_id, at):
    return {"service": service, "type": type_, "event_id": event_id, "processed_at": at}


def letter(service, type_, event_id, reason, *, replayed=False):
    return {
        "service": service,
        "type": type_,
        "event_id": event_id,
        "reason": reason,
        "kind": "handler_failed",
        "attempts": 5,
        "dead_lettered_at": "2026-01-01T10:00:05.000000+00:00",
        "replayed": replayed,
        "replayed_at": "2026-01-01T10:01:00.000000+00:00" if replayed else None,
        "replay_outcome": "applied" if replayed else "",
    }


def order_part(status="pending", *, events=(), inbox=(), history=None):
    return {
        "service": "order",
        "order_id": ORDER_ID,
        "events": list(events),
        "applied": list(inbox),
        "dead_letters": [],
        "order": {
            "id": ORDER_ID,
            "status": status,
            "customer_id": "c0000000-0000-4000-8000-000000000000",
            "customer_email": "ann@example.com",
            "total": "20.00",
            "currency": "EUR",
            "rejection_reason": "",
            "created_at": "2026-01-01T10:00:00.000000+00:00",
        },
        "history": history
        if history is not None
        else [{"status": "pending", "at": "2026-01-01T10:00:00.000000+00:00", "by": None, "reason": "Placed."}],
    }


def inventory_part(*, events=(), inbox=(), letters=(), reservation=None, movements=()):
    return {
        "service": "inventory",
        "order_id": ORDER_ID,
        "events": list(events),
        "applied": list(inbox),
        "dead_letters": list(letters),
        "reservation": reservation,
        "movements": list(movements),
    }


PLACED = event("order", "order.placed", PLACED_ID, at="2026-01-01T10:00:00.100000+00:00")
PLACED_APPLIED = applied("inventory", "order.placed", PLACED_ID, "2026-01-01T10:00:00.200000+00:00")
RESERVED = event("inventory", "inventory.reserved", RESERVED_ID, at="2026-01-01T10:00:00.350000+00:00")
RESERVATION = {
    "state": "reserved",
    "created_at": "2026-01-01T10:00:00.300000+00:00",
    "updated_at": "2026-01-01T10:00:00.300000+00:00",
    "lines": [{"product_id": "p1", "sku": "MUG-1", "quantity": 2}],
}
MOVEMENT = {
    "kind": "reservation",
    "product_id": "p1",
    "sku": "MUG-1",
    "on_hand_delta": 0,
    "reserved_delta": 2,
    "reason": "order placed",
    "created_at": "2026-01-01T10:00:00.300000+00:00",
}


def confirmed_story():
    history = [
        {"status": "pending", "at": "2026-01-01T10:00:00.000000+00:00", "by": None, "reason": "Placed."},
        {"status": "confirmed", "at": "2026-01-01T10:00:00.600000+00:00", "by": None, "reason": "Stock reserved."},
    ]
    return merge(
        [
            inventory_part(events=[RESERVED], inbox=[PLACED_APPLIED], reservation=RESERVATION, movements=[MOVEMENT]),
            order_part(
                "confirmed",
                events=[PLACED],
                inbox=[applied("order", "inventory.reserved", RESERVED_ID, "2026-01-01T10:00:00.500000+00:00")],
                history=history,
            ),
        ]
    )


def test_merge_joins_every_services_part_in_time_order_and_takes_each_apps_part_from_its_owner():
    story = confirmed_story()

    assert story["order"]["status"] == "confirmed"
    assert [step["status"] for step in story["history"]] == ["pending", "confirmed"]
    assert [(e["service"], e["type"]) for e in story["events"]] == [
        ("order", "order.placed"),
        ("inventory", "inventory.reserved"),
    ]
    assert [(row["service"], row["type"]) for row in story["applied"]] == [
        ("inventory", "order.placed"),
        ("order", "inventory.reserved"),
    ]
    assert story["reservation"] == RESERVATION
    assert story["movements"] == [MOVEMENT]
    assert story["dead_letters"] == []
    assert story["services"] == ["inventory", "order"]
    assert story["waiting_on"] is None


def test_merge_of_no_answers_still_has_every_key_of_a_story():
    story = merge([], unreachable={"order": "UNAVAILABLE: down"})

    assert {"order", "history", "events", "reservation", "movements", "dead_letters", "applied"} <= set(story)
    assert story["order"] is None
    assert story["unreachable"] == {"order": "UNAVAILABLE: down"}


def test_an_order_that_is_not_pending_waits_on_nothing():
    assert next_step(confirmed_story()) is None


def test_order_placed_still_in_the_outbox_waits_on_the_relay_and_has_nothing_to_resend():
    unsent = event("order", "order.placed", PLACED_ID, state="pending", error="broker down")
    step = next_step(merge([order_part(events=[unsent]), inventory_part()]))

    assert step.waiting_on == "order.placed pending in the order outbox (relay; 3 attempts, last error: broker down)"
    assert step.resend is None


def test_order_placed_dead_lettered_by_inventory_waits_on_inventory_with_the_reason_and_resends_order_placed():
    dead = letter("inventory", "order.placed", PLACED_ID, "handler failed after 5 attempts: boom")
    step = next_step(merge([order_part(events=[PLACED]), inventory_part(letters=[dead])]))

    assert step.waiting_on == "inventory to apply order.placed (dead-lettered: handler failed after 5 attempts: boom)"
    assert (step.resend.service, step.resend.event_id, step.resend.event_type) == ("order", PLACED_ID, "order.placed")


def test_a_replayed_dead_letter_no_longer_explains_the_wait():
    dead = letter("inventory", "order.placed", PLACED_ID, "boom", replayed=True)
    story = merge([order_part(events=[PLACED]), inventory_part(letters=[dead])])

    assert waiting_on(story).startswith("inventory to apply order.placed (published ")


def test_a_dead_letter_whose_event_was_applied_since_says_so_in_the_text():
    dead = letter("inventory", "order.placed", PLACED_ID, "boom")
    story = merge([order_part(events=[PLACED]), inventory_part(inbox=[PLACED_APPLIED], letters=[dead])])

    (line,) = [line for line in render(story).splitlines() if "dead letter" in line]
    assert "its event applied since (re-driven)" in line
    assert "(failed publish attempts 0)" in render(story)


def test_a_failed_reservation_not_applied_by_the_order_service_resends_it_from_the_inventory_outbox():
    failed = event("inventory", "inventory.reservation_failed", RESERVED_ID)
    story = merge([order_part(events=[PLACED]), inventory_part(events=[failed], inbox=[PLACED_APPLIED])])
    step = next_step(story)

    assert step.waiting_on.startswith("order service to apply inventory.reservation_failed")
    assert (step.resend.service, step.resend.event_id) == ("inventory", RESERVED_ID)


AUTHORIZED_ID = "00000000-0000-4000-8000-000000000003"
RESERVED_APPLIED_BY_PAYMENT = applied("payment", "inventory.reserved", RESERVED_ID, "2026-01-01T10:00:00.400000+00:00")


def payment_part(*, events=(), inbox=(), payment=None):
    return {
        "service": "payment",
        "order_id": ORDER_ID,
        "events": list(events),
        "applied": list(inbox),
        "dead_letters": [],
        "payment": payment,
    }


def reserved_story(*payment_parts):
    return merge(
        [order_part(events=[PLACED]), inventory_part(events=[RESERVED], inbox=[PLACED_APPLIED]), *payment_parts]
    )


def test_a_reservation_not_applied_by_payment_resends_it_from_the_inventory_outbox():
    step = next_step(reserved_story(payment_part()))

    assert step.waiting_on.startswith("payment to apply inventory.reserved")
    assert (step.resend.service, step.resend.event_id) == ("inventory", RESERVED_ID)


def test_a_payment_call_in_progress_is_named():
    payment = {"status": "requires_authorization", "amount": "20.00", "pending_step": "authorize", "attempts": 2,
               "history": []}  # fmt: skip
    story = reserved_story(payment_part(inbox=[RESERVED_APPLIED_BY_PAYMENT], payment=payment))

    assert waiting_on(story) == "payment to answer inventory.reserved (provider call authorize pending after 2 calls)"
    assert next_step(story).resend is None


def test_a_payment_answer_not_applied_by_the_order_service_resends_it_from_the_payment_outbox():
    authorized = event("payment", "payment.authorized", AUTHORIZED_ID)
    story = reserved_story(payment_part(events=[authorized], inbox=[RESERVED_APPLIED_BY_PAYMENT]))
    step = next_step(story)

    assert step.waiting_on.startswith("order service to apply payment.authorized")
    assert (step.resend.service, step.resend.event_id) == ("payment", AUTHORIZED_ID)


def test_the_payment_history_is_in_the_story_text():
    payment = {"status": "failed", "amount": "20.00", "pending_step": "", "attempts": 3, "history": [
        {"status": "requires_authorization", "note": "", "at": "2026-01-01T10:00:00.360000+00:00"},
        {"status": "failed", "note": "provider unavailable", "at": "2026-01-01T10:00:00.900000+00:00"},
    ]}  # fmt: skip
    text = render(reserved_story(payment_part(inbox=[RESERVED_APPLIED_BY_PAYMENT], payment=payment)))

    assert "payment    payment failed (provider unavailable)" in text


def test_an_applied_order_placed_without_an_answer_waits_on_inventory_to_answer():
    story = merge([order_part(events=[PLACED]), inventory_part(inbox=[PLACED_APPLIED])])

    assert waiting_on(story) == "inventory to answer order.placed (applied, but no reply in the inventory outbox)"
    assert next_step(story).resend is None


def test_an_unreachable_consumer_is_named_instead_of_guessing_it_never_applied():
    story = merge([order_part(events=[PLACED])], unreachable={"inventory": "exit code 1"})
    step = next_step(story)

    assert step.waiting_on == "inventory to apply order.placed? (inventory did not answer: exit code 1)"
    assert step.resend is None


def test_render_tells_the_story_oldest_first_and_ends_with_the_wait():
    text = render(confirmed_story())
    lines = text.splitlines()

    assert lines[0] == (
        f"Order {ORDER_ID}: confirmed, customer ann@example.com, total 20.00 EUR, "
        "created 2026-01-01T10:00:00.000000+00:00"
    )
    body = [line.split(None, 2)[1:] for line in lines[1:-1]]
    assert [service for service, _ in body] == [
        "order",
        "order",
        "inventory",
        "inventory",
        "inventory",
        "inventory",
        "order",
        "order",
    ]
    assert body[0][1] == "status pending (Placed.)"
    assert body[1][1].startswith(f"outbox order.placed {PLACED_ID} published")
    assert f"applied order.placed {PLACED_ID}" in text
    assert "reservation of 2 x MUG-1 (now reserved)" in text
    assert "movement reservation MUG-1: on_hand +0, reserved +2 (order placed)" in text
    assert body[-1][1] == "status confirmed (Stock reserved.)"
    assert lines[-1] == "Waiting on: nothing (the order is confirmed)"


def test_render_names_a_service_that_did_not_answer():
    story = merge([order_part(events=[PLACED])], unreachable={"inventory": "DEADLINE_EXCEEDED: too slow"})

    assert "  inventory service did not answer (DEADLINE_EXCEEDED: too slow): its part is missing" in render(story)


# Reading this service's tables, and re-sending (the order project's database)


@pytest.mark.django_db
def test_local_story_has_the_outbox_inbox_and_dead_letters_keyed_by_the_order_and_nothing_else():
    order_id = uuid.UUID(ORDER_ID)
    with transaction.atomic():
        mine = publish(Envelope(type="system.ping", key=ORDER_ID, payload={}), topic="orders")
        publish(Envelope(type="system.ping", key=str(uuid.uuid4()), payload={}), topic="orders")
    ProcessedEvent.objects.create(
        event_id=uuid.uuid4(), event_type="inventory.reserved", key=ORDER_ID, topic="t", partition=0, offset=1
    )
    ProcessedEvent.objects.create(
        event_id=uuid.uuid4(), event_type="inventory.reserved", key="other", topic="t", partition=0, offset=2
    )
    DeadLetter.objects.create(
        group="g",
        dlq_topic="g.dlq",
        dlq_partition=0,
        dlq_offset=7,
        original_topic="t",
        original_partition=0,
        original_offset=3,
        event_id=uuid.uuid4(),
        event_type="inventory.reserved",
        key=ORDER_ID,
        kind="handler_failed",
        reason="boom",
        attempts=5,
        value="{}",
        dead_lettered_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    story = local_story(order_id=order_id)

    assert story["service"] == "order"
    assert [(e["type"], e["event_id"], e["state"]) for e in story["events"]] == [
        ("system.ping", str(mine.event_id), "pending")
    ]
    assert [row["type"] for row in story["applied"]] == ["inventory.reserved"]
    assert [(d["reason"], d["replayed"]) for d in story["dead_letters"]] == [("boom", False)]
    assert story["order"] is None  # the order app's part: no such order


@pytest.mark.django_db(transaction=True)
def test_resend_puts_a_published_row_back_to_pending_with_the_same_event_id_and_wakes_the_relay():
    with transaction.atomic():
        row = publish(Envelope(type="system.ping", key="k", payload={}), topic="orders")
    OutboxEvent.objects.filter(pk=row.pk).update(sent_at=datetime(2026, 1, 1, tzinfo=UTC), attempts=2, last_error="x")

    with psycopg.connect(database_url(), autocommit=True) as listener:
        listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
        resend = outbox_resend(event_id=row.event_id)
        woken = list(listener.notifies(timeout=5, stop_after=1))

    assert resend.outcome is ResendOutcome.RESENT
    assert resend.event_type == "system.ping"
    again = OutboxEvent.objects.get(pk=row.pk)
    assert (str(again.event_id), again.sent_at, again.attempts, again.last_error) == (str(row.event_id), None, 0, "")
    assert len(woken) == 1


@pytest.mark.django_db
def test_resend_leaves_a_pending_row_alone_and_reports_an_unknown_id():
    with transaction.atomic():
        row = publish(Envelope(type="system.ping", key="k", payload={}), topic="orders")
    OutboxEvent.objects.filter(pk=row.pk).update(attempts=4)

    assert outbox_resend(event_id=row.event_id).outcome is ResendOutcome.ALREADY_PENDING
    assert OutboxEvent.objects.get(pk=row.pk).attempts == 4
    assert outbox_resend(event_id=uuid.uuid4()).outcome is ResendOutcome.UNKNOWN


@pytest.mark.django_db
def test_outbox_resend_command_says_what_it_did_and_refuses_a_bad_id(capsys):
    with transaction.atomic():
        row = publish(Envelope(type="system.ping", key="k", payload={}), topic="orders")
    OutboxEvent.objects.filter(pk=row.pk).update(sent_at=datetime(2026, 1, 1, tzinfo=UTC))

    call_command("outbox_resend", str(row.event_id))
    call_command("outbox_resend", str(row.event_id))
    unknown = uuid.uuid4()
    call_command("outbox_resend", str(unknown))
    said = capsys.readouterr().out.splitlines()

    assert said[0] == f"system.ping {row.event_id} is pending again in the order outbox; the relay publishes it"
    assert said[1].startswith(f"system.ping {row.event_id} was never published: it is still pending")
    assert said[2].startswith(f"no event {unknown} in the order outbox")
    with pytest.raises(CommandError, match="is not an event id"):
        call_command("outbox_resend", "not-a-uuid")
