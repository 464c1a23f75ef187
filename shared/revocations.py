"""Revoked access tokens: refused by the gateway and every service within a second or two, not at expiry.

Access tokens are verified without calling anyone (:mod:`shared.jwt_auth`), so a logout, a password
change, a deactivation or a staff role taken away would otherwise leave them valid for their whole
lifetime. user_svc records such a revocation as an :class:`~shared.models.AccessTokenRevocation`
row and publishes ``user.tokens_revoked`` in the same transaction; every other service (the gateway
too, through its ``gateway-consumer``) writes the same row into its own database when it consumes
the event (:func:`_record_revoked_tokens`).

A token is refused when its ``iat`` is at or before the ``not_before`` of a revocation of its
subject, or of its session (its ``family`` claim, the refresh-token family of one sign-in).
user_svc signs ``iat`` to the microsecond (RFC 7519 allows a fractional NumericDate,
:func:`numeric_date`), so a token signed just after a password change works and one signed just
before it does not, even within one second.

Checking must cost next to nothing per request, so each process keeps the live revocations in
memory (:data:`REVOCATIONS`) and reads only the rows added since, at most every
``TOKEN_REVOCATIONS_REFRESH_SECONDS`` (0.5). Rows are read by their increasing id; an id skipped
by a read may belong to a transaction still committing, so skipped ids are asked for again for
``GAP_SECONDS``. A revocation
is forgotten at its ``expires_at`` (plus the verification leeway): every token it refuses has
expired by then; the consumers' periodic task deletes such rows (:mod:`shared.tasks`).

When the database cannot be read, the last known revocations stay in force and the failure is
logged; tokens are not refused wholesale. That is the safe side here: the services verify every
token again against their own database, and a service cannot act on a request without its
database, so a revoked token gets through only where nothing can be done with it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, transaction
from django.utils import timezone

from shared import metrics
from shared.events import Envelope, handles, rfc3339
from shared.models import AccessTokenRevocation

logger = logging.getLogger(__name__)

TOKENS_REVOKED = "user.tokens_revoked"
GAP_SECONDS = 60.0  # longer than any transaction that revokes (an admin action over many users)
MAX_GAP_IDS = 1000
MAX_ENTRIES = 200_000  # users and sessions; past it the oldest are folded into one floor for everyone
FAILURE_LOG_SECONDS = 60.0


def numeric_date(moment: datetime) -> float:
    """``moment`` as seconds since the epoch, to the microsecond: a token's ``iat`` and a revocation's
    ``not_before`` are both made by this one function, so they compare exactly."""
    return moment.timestamp()


@dataclass(frozen=True)
class Revocation:
    not_before: float
    expires_at: float


class RevocationList:
    """This process's copy of the live revocations, kept up to date from the database.

    Readers take no lock (a dict lookup is atomic); one thread at a time refreshes, the others go
    on with the copy they have (at most ``refresh_seconds`` old, plus one query). ``refresh_seconds``
    None: the ``TOKEN_REVOCATIONS_REFRESH_SECONDS`` setting.
    """

    def __init__(
        self,
        *,
        refresh_seconds: float | None = None,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.refresh_seconds = refresh_seconds
        self.max_entries = max_entries
        self.clock = clock
        self.wall_clock = wall_clock
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._users: dict[uuid.UUID, Revocation] = {}
        self._sessions: dict[uuid.UUID, Revocation] = {}
        # Every token issued up to here is refused: what was forgotten when the entries overflowed.
        self._floor: Revocation | None = None
        self._last_id = 0
        self._gaps: dict[int, float] = {}  # a skipped id -> when it was first skipped (clock)
        self._loaded = False
        self._next_refresh = 0.0
        self._failing_since: float | None = None
        self._failure_logged_at = 0.0

    def refuses(self, *, user_id: uuid.UUID, session_id: uuid.UUID | None, issued_at: float) -> bool:
        """True when a token of ``user_id`` (and ``session_id``) issued at ``issued_at`` was revoked."""
        self.refresh_if_due()
        applicable = (self._users.get(user_id), self._sessions.get(session_id) if session_id else None, self._floor)
        return any(revocation is not None and issued_at <= revocation.not_before for revocation in applicable)

    def refresh_if_due(self) -> None:
        if self.clock() < self._next_refresh:
            return
        # The first load waits for whoever is doing it: before it, this process knows of no revocation.
        if not self._lock.acquire(blocking=not self._loaded):
            return
        try:
            if self.clock() >= self._next_refresh:
                self._refresh()
                self._next_refresh = self.clock() + self._refresh_seconds()
        finally:
            self._lock.release()

    def _refresh_seconds(self) -> float:
        if self.refresh_seconds is not None:
            return self.refresh_seconds
        return float(settings.TOKEN_REVOCATIONS_REFRESH_SECONDS)

    def _refresh(self) -> None:
        try:
            rows = self._read()
        except (DatabaseError, InterfaceError) as exc:
            self._failed(exc)
            return
        if self._failing_since is not None:
            logger.warning("read the token revocations again after %.1f s", self.clock() - self._failing_since)
            self._failing_since = None
        self._apply(rows)
        self._loaded = True

    def _read(self) -> list[tuple[int, uuid.UUID, uuid.UUID | None, datetime, datetime]]:
        rows = AccessTokenRevocation.objects.filter(id__gt=self._last_id)
        if self._gaps:
            rows = rows | AccessTokenRevocation.objects.filter(id__in=list(self._gaps))
        # A savepoint when the caller is in a transaction: a failed read must not break the caller's.
        with transaction.atomic():
            return list(rows.order_by("id").values_list("id", "user_id", "session_id", "not_before", "expires_at"))

    def _failed(self, exc: Exception) -> None:
        now = self.clock()
        if self._failing_since is None:
            self._failing_since = now
        metrics.TOKEN_REVOCATION_READS_FAILED.inc()
        if now - self._failure_logged_at >= FAILURE_LOG_SECONDS:
            self._failure_logged_at = now
            logger.error(
                "cannot read the token revocations (for %.1f s); the last known %d stay in force: %s",
                now - self._failing_since,
                len(self._users) + len(self._sessions),
                exc,
            )

    def _apply(self, rows: Iterable[tuple[int, uuid.UUID, uuid.UUID | None, datetime, datetime]]) -> None:
        now = self.clock()
        first_load = not self._loaded
        seen: list[int] = []
        for row_id, user_id, session_id, not_before, expires_at in rows:
            seen.append(row_id)
            self._gaps.pop(row_id, None)
            revocation = Revocation(numeric_date(not_before), numeric_date(expires_at))
            if session_id is None:
                _merge(self._users, user_id, revocation)
            else:
                _merge(self._sessions, session_id, revocation)
        new = [row_id for row_id in seen if row_id > self._last_id]
        if new:
            # Ids skipped between the rows read may be transactions that commit later (not on the first
            # load: below the first row there are only pruned rows).
            start = min(new) if first_load else self._last_id + 1
            present = set(new)
            for row_id in range(max(start, max(new) - MAX_GAP_IDS), max(new)):
                if row_id not in present:
                    self._gaps.setdefault(row_id, now)
            self._last_id = max(new)
        self._gaps = {row_id: since for row_id, since in self._gaps.items() if now - since < GAP_SECONDS}
        self._forget_expired()

    def _forget_expired(self) -> None:
        horizon = self.wall_clock() - settings.JWT_LEEWAY_SECONDS
        for entries in (self._users, self._sessions):
            for key in [key for key, revocation in entries.items() if revocation.expires_at < horizon]:
                del entries[key]
        if self._floor is not None and self._floor.expires_at < horizon:
            self._floor = None
        overflow = len(self._users) + len(self._sessions) - self.max_entries
        if overflow > 0:
            self._fold_oldest(overflow)

    def _fold_oldest(self, count: int) -> None:
        """Forgets the ``count`` oldest entries, refusing everyone's tokens issued up to the newest of them.

        Only a flood of revocations gets here; it costs honest clients a token refresh, never a
        revoked token accepted.
        """
        entries = sorted(
            (
                (revocation.not_before, kind, key)
                for kind in (self._users, self._sessions)
                for key, revocation in kind.items()
            ),
            key=lambda entry: entry[0],
        )
        floor = self._floor or Revocation(0.0, 0.0)
        for _, kind, key in entries[:count]:
            revocation = kind.pop(key)
            floor = Revocation(
                max(floor.not_before, revocation.not_before), max(floor.expires_at, revocation.expires_at)
            )
        self._floor = floor
        logger.warning(
            "%d token revocations over the limit of %d: every access token issued up to %s is refused",
            count,
            self.max_entries,
            datetime.fromtimestamp(floor.not_before, UTC).isoformat(),
        )

    def clear(self) -> None:
        """Forgets everything, to be read again from the database (tests)."""
        with self._lock:
            self._reset()


def _merge(entries: dict[uuid.UUID, Revocation], key: uuid.UUID, revocation: Revocation) -> None:
    """Keeps the later of two revocations of one user or session: it refuses everything the earlier one does."""
    existing = entries.get(key)
    if existing is None or existing.not_before < revocation.not_before:
        entries[key] = Revocation(
            revocation.not_before, max(revocation.expires_at, existing.expires_at if existing else 0.0)
        )
    elif existing.expires_at < revocation.expires_at:
        entries[key] = Revocation(existing.not_before, revocation.expires_at)


REVOCATIONS = RevocationList()


def revocation_record(
    *, user_id: uuid.UUID, session_id: uuid.UUID | None, not_before: datetime, expires_at: datetime
) -> AccessTokenRevocation | None:
    """Stores a revocation in this service's database; None when every token it refuses has expired already."""
    if expires_at < timezone.now() - timedelta(seconds=settings.JWT_LEEWAY_SECONDS):
        return None
    return AccessTokenRevocation.objects.create(
        user_id=user_id, session_id=session_id, not_before=not_before, expires_at=expires_at
    )


def revocation_payload(
    *, user_id: uuid.UUID, session_id: uuid.UUID | None, not_before: datetime, expires_at: datetime
) -> dict[str, Any]:
    """The ``user.tokens_revoked`` payload of a revocation."""
    payload = {"user_id": str(user_id), "not_before": rfc3339(not_before), "expires_at": rfc3339(expires_at)}
    return payload | ({"session_id": str(session_id)} if session_id else {})


def _record_revoked_tokens(envelope: Envelope) -> None:
    payload = envelope.payload
    session = payload.get("session_id")
    revocation_record(
        user_id=uuid.UUID(payload["user_id"]),
        session_id=uuid.UUID(session) if session else None,
        not_before=_parse(payload["not_before"]),
        expires_at=_parse(payload["expires_at"]),
    )


# user_svc issues revocations and records each in the transaction that publishes it; every other
# service records them by consuming the event, so only they handle (and subscribe to) it.
ISSUER = "user"
if settings.SERVICE_NAME != ISSUER:
    handles(TOKENS_REVOKED)(_record_revoked_tokens)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def prune_token_revocations() -> int:
    """Deletes the revocations whose tokens have all expired (every minute, :mod:`shared.tasks`); how many."""
    horizon = timezone.now() - timedelta(seconds=settings.JWT_LEEWAY_SECONDS)
    deleted, _ = AccessTokenRevocation.objects.filter(expires_at__lt=horizon).delete()
    return deleted
