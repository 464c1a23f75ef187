"""Operator tools of the event backbone: outbox status, pruning, the generated event catalog, gauges."""

import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from shared import event_catalog, metrics
from shared.events import publish
from shared.models import OutboxEvent, ProcessedEvent
from shared.relay import prune, update_gauges
from shared.tests.effects import released, stock_changed

pytestmark = pytest.mark.django_db


def test_docs_list_every_event_with_its_current_schema():
    assert event_catalog.DOCS.read_text() == event_catalog.render(), (
        "docs/events.md is stale: run `python -m shared.event_catalog`"
    )


def test_outbox_status_reports_backlog_oldest_age_and_types(capsys):
    with transaction.atomic():
        publish(stock_changed(str(uuid.uuid4()), 1))
        publish(stock_changed(str(uuid.uuid4()), 1))
        publish(released(str(uuid.uuid4())))
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    call_command("outbox_status", "--json")
    status = json.loads(capsys.readouterr().out)
    assert status["pending"] == 3
    assert status["pending_by_type"] == {"inventory.changed": 2, "inventory.released": 1}
    assert 299 < status["oldest_pending_age_seconds"] < 400


def test_prune_deletes_only_sent_rows_past_the_retention():
    with transaction.atomic():
        old_sent, recent_sent, old_pending = (publish(stock_changed(str(uuid.uuid4()), 1)) for _ in range(3))
    long_ago = timezone.now() - timedelta(days=10)
    OutboxEvent.objects.filter(pk=old_sent.pk).update(sent_at=long_ago)
    OutboxEvent.objects.filter(pk=recent_sent.pk).update(sent_at=timezone.now())
    OutboxEvent.objects.filter(pk=old_pending.pk).update(created_at=long_ago)

    deleted, inbox_deleted = prune(older_than=timedelta(days=7))

    assert (deleted, inbox_deleted) == (1, 0)
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {recent_sent.pk, old_pending.pk}


def test_prune_inbox_keeps_records_inside_the_retention(capsys):
    old = ProcessedEvent.objects.create(event_id=uuid.uuid4(), event_type="x", topic="t", partition=0, offset=1)
    recent = ProcessedEvent.objects.create(event_id=uuid.uuid4(), event_type="x", topic="t", partition=0, offset=2)
    ProcessedEvent.objects.filter(pk=old.pk).update(processed_at=timezone.now() - timedelta(days=40))
    call_command("prune_outbox", "--inbox", "--inbox-days", "30")
    assert "deleted 0 sent outbox rows and 1 inbox records" in capsys.readouterr().out
    assert list(ProcessedEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def test_outbox_gauges_follow_the_backlog():
    update_gauges()
    assert metrics.OUTBOX_BACKLOG._value.get() == 0
    assert metrics.OUTBOX_OLDEST_AGE._value.get() == 0
    with transaction.atomic():
        publish(stock_changed(str(uuid.uuid4()), 1))
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(seconds=90))
    update_gauges()
    assert metrics.OUTBOX_BACKLOG._value.get() == 1
    assert metrics.OUTBOX_OLDEST_AGE._value.get() >= 90
