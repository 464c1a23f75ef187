"""Payment's part of a saga story (``manage.py saga_story``), its consistency facts and its metrics."""

import json
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from prometheus_client import REGISTRY

from payments.consistency import payments_facts
from payments.tasks import retry_pending_payments
from payments.tests.factories import inventory_reserved, order_placed
from payments.tests.helpers import apply, apply_committed
from shared.periodic import registered_tasks

pytestmark = pytest.mark.django_db


def steps_counted(step: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("shop_payment_steps_total", {"step": step, "outcome": outcome}) or 0.0


def test_saga_story_has_the_payment_its_history_and_the_answer(capsys, django_capture_on_commit_callbacks):
    order_id = uuid.uuid4()
    reserved = inventory_reserved(order_id)
    apply_committed(
        django_capture_on_commit_callbacks,
        order_placed(order_id, total=Decimal("5.00"), payment_method="pm_card_chargeDeclined"),
        reserved,
    )

    call_command("saga_story", str(order_id))
    story = json.loads(capsys.readouterr().out)["stories"][str(order_id)]

    assert story["service"] == "payment"
    payment = story["payment"]
    assert (payment["status"], payment["amount"], payment["failure_reason"], payment["attempts"]) == (
        "failed", "5.00", "card_declined", 1,
    )  # fmt: skip
    assert [(row["status"], row["note"]) for row in payment["history"]] == [
        ("requires_authorization", ""),
        ("failed", "card_declined after 1 attempt"),
    ]
    assert [event["type"] for event in story["events"]] == ["payment.failed"]
    assert reserved.id in [row["event_id"] for row in story["applied"]]


def test_consistency_facts_list_each_payment():
    order_id = uuid.uuid4()
    apply(order_placed(order_id))
    apply(inventory_reserved(order_id))

    status, _, pending_step = payments_facts()[str(order_id)]
    assert (status, pending_step) == ("requires_authorization", "authorize")


def test_outcomes_are_counted_once_committed(django_capture_on_commit_callbacks):
    before = steps_counted("authorize", "declined")
    order_id = uuid.uuid4()
    apply_committed(
        django_capture_on_commit_callbacks,
        order_placed(order_id, payment_method="pm_card_chargeDeclinedInsufficientFunds"),
        inventory_reserved(order_id),
    )
    assert steps_counted("authorize", "declined") == before + 1


def test_the_consumer_retries_pending_steps():
    assert retry_pending_payments in [task.run for task in registered_tasks()]
