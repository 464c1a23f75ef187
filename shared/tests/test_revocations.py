"""Revoked access tokens (shared.revocations): refused by every verifier, cheaply, from the event or the row."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from shared import metrics
from shared.consumer import Outcome, apply_event
from shared.events import HANDLERS, Envelope
from shared.models import AccessTokenRevocation
from shared.revocations import (
    REVOCATIONS,
    RevocationList,
    numeric_date,
    prune_token_revocations,
    revocation_payload,
    revocation_record,
)
from shared.testing.tokens import access_token, refused

pytestmark = pytest.mark.django_db
MICROSECOND = timedelta(microseconds=1)


def revoke(user_id: uuid.UUID, *, at: datetime | None = None, session: uuid.UUID | None = None, minutes: int = 5):
    not_before = at or timezone.now()
    return revocation_record(
        user_id=user_id, session_id=session, not_before=not_before, expires_at=not_before + timedelta(minutes=minutes)
    )


def token(user_id: uuid.UUID, issued: datetime, **claims) -> str:
    return access_token(user_id, iat=numeric_date(issued), exp=int(issued.timestamp()) + 300, **claims)


def test_a_token_issued_a_microsecond_before_the_revocation_is_refused_one_after_it_works():
    user_id, moment = uuid.uuid4(), timezone.now()
    revoke(user_id, at=moment)

    assert refused(token(user_id, moment - MICROSECOND))
    assert refused(token(user_id, moment))
    assert not refused(token(user_id, moment + MICROSECOND))


def test_a_whole_second_iat_counts_as_that_second():
    user_id, moment = uuid.uuid4(), timezone.now().replace(microsecond=500_000)
    revoke(user_id, at=moment)

    assert refused(access_token(user_id, iat=int(moment.timestamp())))
    assert not refused(access_token(user_id, iat=int(moment.timestamp()) + 1))


def test_other_users_tokens_are_untouched():
    moment = timezone.now()
    revoke(uuid.uuid4(), at=moment)

    assert not refused(token(uuid.uuid4(), moment - timedelta(seconds=1)))


def test_a_session_revocation_refuses_that_sessions_tokens_only():
    user_id, session, other_session, moment = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), timezone.now()
    revoke(user_id, at=moment, session=session)
    before = moment - timedelta(seconds=1)

    assert refused(token(user_id, before, family=str(session)))
    assert not refused(token(user_id, before, family=str(other_session)))
    assert not refused(token(user_id, before))


def test_refused_tokens_are_counted():
    user_id, moment = uuid.uuid4(), timezone.now()
    revoke(user_id, at=moment)
    before = metrics.TOKENS_REFUSED_REVOKED._value.get()

    refused(token(user_id, moment - timedelta(seconds=1)))

    assert metrics.TOKENS_REFUSED_REVOKED._value.get() == before + 1


def test_the_event_records_the_revocation_and_its_tokens_are_refused():
    user_id, session, moment = uuid.uuid4(), uuid.uuid4(), timezone.now()
    payload = revocation_payload(
        user_id=user_id, session_id=session, not_before=moment, expires_at=moment + timedelta(minutes=5)
    )
    envelope = Envelope(type="user.tokens_revoked", key=str(user_id), payload=payload)
    envelope.validate()

    assert apply_event(envelope, topic="users", partition=0, offset=1, handlers=HANDLERS) is Outcome.APPLIED

    row = AccessTokenRevocation.objects.get()
    assert (row.user_id, row.session_id, row.not_before) == (user_id, session, moment)
    assert refused(token(user_id, moment, family=str(session)))
    assert not refused(token(user_id, moment + MICROSECOND, family=str(session)))


def test_an_event_whose_tokens_have_all_expired_records_nothing():
    long_ago = timezone.now() - timedelta(hours=1)
    payload = revocation_payload(
        user_id=uuid.uuid4(), session_id=None, not_before=long_ago, expires_at=long_ago + timedelta(minutes=5)
    )

    apply_event(
        Envelope(type="user.tokens_revoked", key="k", payload=payload),
        topic="users",
        partition=0,
        offset=1,
        handlers=HANDLERS,
    )

    assert not AccessTokenRevocation.objects.exists()


def test_a_row_committed_after_a_later_one_was_read_is_still_found():
    """Ids are taken at insert and committed in any order: an id skipped by one read is asked for again."""
    revocations = RevocationList(refresh_seconds=0)
    first, late, early = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    moment = timezone.now()
    base = revoke(first, at=moment).id
    AccessTokenRevocation.objects.create(
        id=base + 2, user_id=early, not_before=moment, expires_at=moment + timedelta(minutes=5)
    )
    revocations.refresh_if_due()

    AccessTokenRevocation.objects.create(
        id=base + 1, user_id=late, not_before=moment, expires_at=moment + timedelta(minutes=5)
    )

    assert revocations.refuses(user_id=late, session_id=None, issued_at=numeric_date(moment))
    assert revocations.refuses(user_id=early, session_id=None, issued_at=numeric_date(moment))


def test_refreshes_read_the_database_at_most_every_interval(django_assert_num_queries):
    now = [100.0]
    revocations = RevocationList(refresh_seconds=0.5, clock=lambda: now[0])
    user_id = uuid.uuid4()
    revocations.refuses(user_id=user_id, session_id=None, issued_at=0)
    revoke(user_id)

    with django_assert_num_queries(0):
        for _ in range(100):
            assert not revocations.refuses(user_id=user_id, session_id=None, issued_at=0)
    now[0] += 0.5

    assert revocations.refuses(user_id=user_id, session_id=None, issued_at=0)


def test_when_the_database_cannot_be_read_the_known_revocations_stay_in_force(monkeypatch, caplog):
    revocations = RevocationList(refresh_seconds=0)
    user_id, moment = uuid.uuid4(), timezone.now()
    revoke(user_id, at=moment)
    assert revocations.refuses(user_id=user_id, session_id=None, issued_at=numeric_date(moment))
    failures = metrics.TOKEN_REVOCATION_READS_FAILED._value.get()

    def unavailable():
        raise OperationalError("the database is down")

    monkeypatch.setattr(revocations, "_read", unavailable)

    assert revocations.refuses(user_id=user_id, session_id=None, issued_at=numeric_date(moment))
    assert not revocations.refuses(user_id=uuid.uuid4(), session_id=None, issued_at=numeric_date(moment))
    assert metrics.TOKEN_REVOCATION_READS_FAILED._value.get() == failures + 2
    assert "cannot read the token revocations" in caplog.text


def test_a_failed_read_leaves_the_callers_transaction_usable(monkeypatch):
    revocations = RevocationList(refresh_seconds=0)
    monkeypatch.setattr(AccessTokenRevocation._meta, "db_table", "no_such_table")

    with transaction.atomic():
        assert not revocations.refuses(user_id=uuid.uuid4(), session_id=None, issued_at=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)


def test_expired_revocations_are_forgotten():
    wall = [datetime(2030, 1, 1, tzinfo=UTC).timestamp()]
    revocations = RevocationList(refresh_seconds=0, wall_clock=lambda: wall[0])
    user_id = uuid.uuid4()
    moment = datetime.fromtimestamp(wall[0], UTC)
    revoke(user_id, at=moment)
    assert revocations.refuses(user_id=user_id, session_id=None, issued_at=numeric_date(moment))

    wall[0] += 5 * 60 + 10  # the lifetime and the leeway (5 s) later

    assert not revocations.refuses(user_id=user_id, session_id=None, issued_at=numeric_date(moment))


def test_past_the_limit_the_oldest_are_folded_into_a_floor_that_refuses_everyone_before_it(caplog):
    revocations = RevocationList(refresh_seconds=0, max_entries=2)
    moment = timezone.now()
    oldest, middle, newest, bystander = (uuid.uuid4() for _ in range(4))
    revoke(oldest, at=moment - timedelta(seconds=3))
    revoke(middle, at=moment - timedelta(seconds=2))
    revoke(newest, at=moment - timedelta(seconds=1))

    refuses = revocations.refuses
    assert refuses(user_id=oldest, session_id=None, issued_at=numeric_date(moment - timedelta(seconds=4)))
    assert refuses(user_id=bystander, session_id=None, issued_at=numeric_date(moment - timedelta(seconds=4)))
    assert not refuses(user_id=bystander, session_id=None, issued_at=numeric_date(moment - timedelta(seconds=2)))
    assert refuses(user_id=newest, session_id=None, issued_at=numeric_date(moment - timedelta(seconds=2)))
    assert "over the limit of 2" in caplog.text


def test_the_periodic_task_prunes_only_revocations_whose_tokens_have_expired():
    now = timezone.now()
    kept = revoke(uuid.uuid4(), at=now - timedelta(minutes=4))
    AccessTokenRevocation.objects.create(
        user_id=uuid.uuid4(), not_before=now - timedelta(minutes=6), expires_at=now - timedelta(minutes=1)
    )

    prune_token_revocations()

    assert list(AccessTokenRevocation.objects.values_list("id", flat=True)) == [kept.id]


def test_the_process_wide_list_is_the_one_verification_uses():
    user_id, moment = uuid.uuid4(), timezone.now()
    revoke(user_id, at=moment)

    assert REVOCATIONS.refuses(user_id=user_id, session_id=None, issued_at=numeric_date(moment))
