"""``dlq list|replay`` over the DeadLetter table: in order, stopped by a letter that still fails, once in effect."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from shared.consumer import Outcome
from shared.dead_letters import ReplayFailed, dead_letter_replay
from shared.events import Envelope
from shared.models import DeadLetter, ProcessedEvent
from shared.tests.conftest import effect_rows
from shared.tests.effects import flaky_failures, released, stock_changed
from shared.tests.factories import DeadLetterFactory, dead_letter_of

pytestmark = pytest.mark.django_db(transaction=True)


def dlq(capsys, *args: str) -> str:
    call_command("dlq", *args)
    return capsys.readouterr().out


def broken(order_id: str) -> Envelope:
    """An event whose handler fails until the test "deploys the fix" (``flaky_failures[order_id] = 0``)."""
    flaky_failures[order_id] = 10**6
    return released(order_id)


def stamp(letter: DeadLetter) -> tuple[bool, str]:
    letter.refresh_from_db()
    return letter.replayed_at is not None, letter.replay_outcome


def test_list_shows_pending_letters_oldest_first_with_why(capsys):
    now = timezone.now()
    newer = dead_letter_of(stock_changed(str(uuid.uuid4()), 1), dead_lettered_at=now, reason="newer reason")
    older = DeadLetterFactory(kind="invalid", reason="not an event envelope", dead_lettered_at=now - timedelta(1))
    DeadLetterFactory(replayed_at=now, replay_outcome="applied", reason="already replayed")

    lines = dlq(capsys, "list").splitlines()

    assert len(lines) == 3
    assert lines[0].startswith(f"#{older.pk} ") and lines[0].endswith("attempts=5  not an event envelope")
    assert f"#{newer.pk} " in lines[1] and "inventory.changed" in lines[1] and f"key={newer.key}" in lines[1]
    assert lines[1].endswith("newer reason")
    assert lines[2] == "2 dead letter(s) pending"


def test_list_limit_says_how_many_more(capsys):
    DeadLetterFactory.create_batch(3)

    out = dlq(capsys, "list", "--limit", "1")

    assert out.splitlines()[1:] == ["... 2 more after 1", "3 dead letter(s) pending"]


def test_replay_applies_pending_letters_in_order_and_stamps_them(effects, capsys):
    product = str(uuid.uuid4())
    first = dead_letter_of(stock_changed(product, 1), dead_lettered_at=timezone.now() - timedelta(seconds=1))
    second = dead_letter_of(stock_changed(product, 2))

    out = dlq(capsys, "replay")

    assert out.splitlines() == [
        f"#{first.pk} inventory.changed: applied",
        f"#{second.pk} inventory.changed: applied",
        "replayed 2 dead letter(s)",
    ]
    assert [seq for _, _, seq in effect_rows()] == [1, 2]
    assert stamp(first) == stamp(second) == (True, "applied")
    inbox = ProcessedEvent.objects.get(event_id=first.event_id)
    assert (inbox.topic, inbox.offset, inbox.key) == (first.original_topic, first.original_offset, product)


def test_replay_stops_at_the_first_letter_that_still_fails_then_works_after_the_fix(effects, capsys):
    order_id = str(uuid.uuid4())
    failing = dead_letter_of(broken(order_id), dead_lettered_at=timezone.now() - timedelta(seconds=1))
    after_it = dead_letter_of(stock_changed(str(uuid.uuid4()), 1))

    with pytest.raises(CommandError, match=rf"#{failing.pk} \(inventory.released\) still fails: RuntimeError"):
        call_command("dlq", "replay")

    assert stamp(failing) == stamp(after_it) == (False, "")
    assert effect_rows() == []
    assert not ProcessedEvent.objects.exists()

    flaky_failures[order_id] = 0  # the fix is deployed
    assert dlq(capsys, "replay").splitlines()[-1] == "replayed 2 dead letter(s)"
    assert stamp(failing) == stamp(after_it) == (True, "applied")
    assert dlq(capsys, "list") == "0 dead letter(s) pending\n"


def test_second_replay_has_no_second_effect(effects, capsys):
    letter = dead_letter_of(stock_changed(str(uuid.uuid4()), 1))
    dlq(capsys, "replay")

    assert dlq(capsys, "replay") == "replayed 0 dead letter(s)\n"
    assert dlq(capsys, "replay", "--id", str(letter.pk)).startswith(
        f"#{letter.pk} inventory.changed: already replayed at "
    )
    assert len(effect_rows()) == 1
    assert stamp(letter) == (True, "applied")


def test_replay_of_an_event_applied_meanwhile_is_a_duplicate(effects, capsys):
    event = stock_changed(str(uuid.uuid4()), 1)
    first, copy = dead_letter_of(event), dead_letter_of(event)  # e.g. dead-lettered twice after a restart

    assert dlq(capsys, "replay").splitlines()[:2] == [
        f"#{first.pk} inventory.changed: applied",
        f"#{copy.pk} inventory.changed: duplicate",
    ]
    assert len(effect_rows()) == 1
    assert stamp(copy) == (True, "duplicate")


def test_replay_id_replays_only_that_letter(effects, capsys):
    order_id = str(uuid.uuid4())
    still_broken = dead_letter_of(broken(order_id), dead_lettered_at=timezone.now() - timedelta(seconds=1))
    wanted = dead_letter_of(stock_changed(str(uuid.uuid4()), 1))

    assert dlq(capsys, "replay", "--id", str(wanted.pk)) == f"#{wanted.pk} inventory.changed: applied\n"
    assert stamp(wanted) == (True, "applied")
    assert stamp(still_broken) == (False, "")
    with pytest.raises(CommandError, match=rf"#{still_broken.pk} .* still fails"):
        call_command("dlq", "replay", "--id", str(still_broken.pk))


def test_replay_id_of_an_unknown_letter_is_refused():
    with pytest.raises(CommandError, match="no dead letter #999999"):
        call_command("dlq", "replay", "--id", "999999")


def test_message_that_is_not_an_envelope_still_fails_with_why():
    letter = DeadLetterFactory(kind="invalid", value="\ufffd\x01 not json")

    with pytest.raises(ReplayFailed) as failure:
        dead_letter_replay(letter=letter)

    assert failure.value.reason.startswith("not an event envelope: JSONDecodeError")
    assert stamp(letter) == (False, "")


def test_event_failing_its_schema_still_fails_with_the_schema_error():
    bad = Envelope(type="inventory.changed", key="p-1", payload={"product_id": "nope"})
    letter = dead_letter_of(bad, kind="invalid")

    with pytest.raises(ReplayFailed, match="'available' is a required property"):
        dead_letter_replay(letter=letter)


def test_event_without_a_handler_here_is_stamped_skipped():
    product_id = str(uuid.uuid4())
    unhandled = Envelope(type="product.deleted", key=product_id, payload={"product_id": product_id, "sku": "S-1"})
    letter = dead_letter_of(unhandled)

    assert dead_letter_replay(letter=letter).outcome == Outcome.SKIPPED
    assert stamp(letter) == (True, "skipped")


def test_a_discarded_letter_stops_blocking_replay_and_is_never_applied(effects, capsys):
    garbage = DeadLetterFactory(
        kind="invalid", value="not an event", dead_lettered_at=timezone.now() - timedelta(seconds=1)
    )
    after_it = dead_letter_of(stock_changed(str(uuid.uuid4()), 1))
    with pytest.raises(CommandError, match=rf"#{garbage.pk} \(.*\) still fails"):
        call_command("dlq", "replay")

    said = dlq(capsys, "discard", "--id", str(garbage.pk))

    assert said.strip() == f"#{garbage.pk} {garbage.event_type or 'invalid message'}: discarded"
    assert stamp(garbage) == (True, "discarded")
    garbage.refresh_from_db()
    assert garbage.reason.endswith("(discarded by manage.py dlq discard, never applied)")
    assert dlq(capsys, "replay").splitlines()[-1] == "replayed 1 dead letter(s)"
    assert stamp(after_it) == (True, "applied")
    assert "already replayed" in dlq(capsys, "discard", "--id", str(garbage.pk))  # twice: nothing more


def test_discard_needs_an_id():
    with pytest.raises(CommandError, match="dlq discard needs --id N"):
        call_command("dlq", "discard")
