"""The outbox, inbox and dead letters in every service's admin: read-only pages, and a replay action."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import transaction
from django.utils import timezone

from shared.events import publish
from shared.models import DeadLetter, OutboxEvent, ProcessedEvent
from shared.tests.conftest import effect_rows
from shared.tests.effects import flaky_failures, released, stock_changed
from shared.tests.factories import DeadLetterFactory, dead_letter_of

pytestmark = pytest.mark.django_db(transaction=True)

OUTBOX = "/admin/shared/outboxevent/"
INBOX = "/admin/shared/processedevent/"
DEAD_LETTERS = "/admin/shared/deadletter/"


def an_outbox_event(key: str = "order-1") -> OutboxEvent:
    event = stock_changed(str(uuid.uuid4()), 1)
    with transaction.atomic():
        row = publish(event)
    OutboxEvent.objects.filter(pk=row.pk).update(key=key)
    return OutboxEvent.objects.get(pk=row.pk)


def an_inbox_event(key: str = "order-1") -> ProcessedEvent:
    return ProcessedEvent.objects.create(
        event_id=uuid.uuid4(), event_type="order.placed", key=key, topic="orders", partition=1, offset=42
    )


def shown(response) -> list:
    return list(response.context["cl"].queryset)


def told(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def replay(admin_client, letters: list[DeadLetter], action: str = "replay"):
    return admin_client.post(
        DEAD_LETTERS, {"action": action, "_selected_action": [str(letter.pk) for letter in letters]}, follow=True
    )


def test_discard_action_stamps_a_letter_that_can_never_be_applied(admin_client):
    garbage = DeadLetterFactory(kind="invalid", value="not json")

    response = replay(admin_client, [garbage], action="discard")

    assert told(response) == [f"#{garbage.pk} {garbage.event_type or 'invalid message'}: discarded"]
    garbage.refresh_from_db()
    assert (garbage.replayed_at is not None, garbage.replay_outcome) == (True, "discarded")
    assert garbage.reason.endswith("(discarded by admin in the admin, never applied)")
    assert not ProcessedEvent.objects.exists()


@pytest.mark.parametrize(("changelist", "title"), [(OUTBOX, b"outbox"), (INBOX, b"inbox"), (DEAD_LETTERS, b"dead")])
def test_each_changelist_lists_its_rows_for_staff(admin_client, changelist, title):
    an_outbox_event(key="the-key")
    an_inbox_event(key="the-key")
    DeadLetterFactory(key="the-key")

    response = admin_client.get(changelist)

    assert response.status_code == 200
    assert len(shown(response)) == 1
    assert title in response.content.lower()
    assert b"the-key" in response.content


@pytest.mark.parametrize("changelist", [OUTBOX, INBOX, DEAD_LETTERS])
def test_rows_cannot_be_added_or_deleted(admin_client, changelist):
    row = {OUTBOX: an_outbox_event, INBOX: an_inbox_event, DEAD_LETTERS: DeadLetterFactory}[changelist]()

    assert admin_client.get(f"{changelist}add/").status_code == 403
    assert admin_client.post(f"{changelist}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert b"delete_selected" not in admin_client.get(changelist).content
    assert type(row).objects.filter(pk=row.pk).exists()


def test_dead_letter_page_shows_everything_and_edits_nothing(admin_client):
    letter = DeadLetterFactory(key="order-7", reason="handler failed after 5 attempts: RuntimeError('boom')")
    page = f"{DEAD_LETTERS}{letter.pk}/change/"

    response = admin_client.get(page)

    assert response.status_code == 200
    assert b"RuntimeError(&#x27;boom&#x27;)" in response.content
    assert b"order-7" in response.content
    assert b'name="_save"' not in response.content
    assert b'name="key"' not in response.content
    assert admin_client.post(page, {"key": "changed", "_save": "Save"}).status_code == 403
    letter.refresh_from_db()
    assert letter.key == "order-7"


def test_outbox_and_inbox_pages_are_read_only_views(admin_client):
    event, applied = an_outbox_event(), an_inbox_event()

    for page in (f"{OUTBOX}{event.pk}/change/", f"{INBOX}{applied.pk}/change/"):
        response = admin_client.get(page)
        assert response.status_code == 200
        assert b'name="_save"' not in response.content


def test_outbox_filters_pending_and_finds_an_event_by_id_or_key(admin_client):
    pending, sent = an_outbox_event(key="order-1"), an_outbox_event(key="order-2")
    OutboxEvent.objects.filter(pk=sent.pk).update(sent_at=timezone.now())

    assert shown(admin_client.get(OUTBOX, {"published": "no"})) == [pending]
    assert shown(admin_client.get(OUTBOX, {"published": "yes"})) == [sent]
    assert shown(admin_client.get(OUTBOX, {"q": str(sent.event_id)})) == [sent]
    assert shown(admin_client.get(OUTBOX, {"q": "order-1"})) == [pending]
    assert shown(admin_client.get(OUTBOX, {"q": "not a uuid"})) == []


def test_inbox_finds_an_event_by_key(admin_client):
    wanted = an_inbox_event(key="order-1")
    an_inbox_event(key="order-2")

    assert shown(admin_client.get(INBOX, {"q": "order-1"})) == [wanted]


def test_dead_letters_filter_pending_and_find_by_key_or_type(admin_client):
    pending = DeadLetterFactory(key="order-1", event_type="order.placed")
    replayed = DeadLetterFactory(key="order-2", replayed_at=timezone.now(), replay_outcome="applied")

    assert shown(admin_client.get(DEAD_LETTERS, {"replayed": "no"})) == [pending]
    assert shown(admin_client.get(DEAD_LETTERS, {"replayed": "yes"})) == [replayed]
    assert shown(admin_client.get(DEAD_LETTERS, {"q": "order-2"})) == [replayed]
    assert shown(admin_client.get(DEAD_LETTERS, {"q": "order.placed"})) == [pending]


def test_replay_action_replays_each_letter_and_reports_each(admin_client, effects):
    order_id = str(uuid.uuid4())
    flaky_failures[order_id] = 10**6  # the handler still fails for this one
    still_broken = dead_letter_of(released(order_id))
    fixed = dead_letter_of(stock_changed(str(uuid.uuid4()), 1))
    garbage = DeadLetterFactory(kind="invalid", value="not json")

    response = replay(admin_client, [still_broken, fixed, garbage])

    assert response.status_code == 200
    assert told(response) == [
        f"dead letter #{still_broken.pk} (inventory.released) still fails: "
        f"RuntimeError('transient failure for {order_id}')",
        f"#{fixed.pk} inventory.changed: applied",
        f"dead letter #{garbage.pk} (invalid message) still fails: not an event envelope: "
        "JSONDecodeError('Expecting value: line 1 column 1 (char 0)')",
    ]
    assert len(effect_rows()) == 1
    assert list(DeadLetter.objects.filter(replayed_at__isnull=False)) == [fixed]

    flaky_failures[order_id] = 0  # the fix is deployed
    response = replay(admin_client, [still_broken, fixed])

    assert told(response)[0] == f"#{still_broken.pk} inventory.released: applied"
    assert told(response)[1].startswith(f"#{fixed.pk} inventory.changed: already replayed at ")
    assert told(response)[1].endswith("(applied); nothing done")
    assert len(effect_rows()) == 1
    assert ProcessedEvent.objects.filter(event_id=still_broken.event_id).exists()


def test_staff_with_view_permission_opens_a_dead_letter_but_cannot_change_it(client, django_user_model):
    staff = django_user_model.objects.create_user(username="operator", password="pw-123456", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_deadletter"))
    client.force_login(staff)
    letter = DeadLetterFactory(key="order-7")

    assert client.get(DEAD_LETTERS).status_code == 200
    response = client.get(f"{DEAD_LETTERS}{letter.pk}/change/")
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert client.post(f"{DEAD_LETTERS}{letter.pk}/change/", {"key": "changed"}).status_code == 403
    assert client.get(OUTBOX).status_code == 403  # no view permission for the outbox
