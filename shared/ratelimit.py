"""Token buckets in the service's database: one atomic statement, shared by all workers and instances.

A bucket holds up to ``capacity`` tokens and refills at ``capacity / period``
per second. :func:`take` spends a token when there is one; when there is none
it spends nothing and says how long until there will be.

For the gateway's per-request limits, :data:`LEASES` saves that statement on busy buckets: a
process takes tokens in batches sized to the key's recent demand and spends them locally
(:class:`LeasedBuckets`); a quiet key still costs exactly one token and one statement a request.

Also the one failed sign-in throttle (:func:`sign_in_wait`, :func:`sign_in_failed`), used by
user_svc for every sign-in it checks and by every other service's admin for its local
(``createsuperuser``) accounts. Failed sign-ins spend tokens from three buckets, so that guessing
is bounded without handing an attacker a way to lock the owner out:

- per (account, client address), small (``LOGIN_FAILURES_PER_EMAIL_AND_CLIENT``, 5/900): the one
  that stops an attacker guessing one account from one address. Refilling at capacity/period, it
  lets at most ``capacity + capacity * 3600 / period`` guesses per hour through (25 by default).
  The owner at another address has their own bucket, so they still get in while it is empty.
- per account, much larger (``LOGIN_FAILURES_PER_EMAIL``, 40/3600), against guessing from many
  addresses: the first half of it is free, then each further failure must wait twice as long after
  the previous one (2 s, 4 s, ... at most :data:`ACCOUNT_DELAY_CAP_SECONDS`), so a distributed
  attacker gets a few guesses an hour. These delays spare an address the account signed in from
  successfully within ``LOGIN_KNOWN_CLIENT_DAYS`` (:func:`sign_in_succeeded`): the owner signing in
  from their usual address is never delayed by an attack from elsewhere; a new address waits
  minutes at worst, never a lockout.
- per client address (``LOGIN_FAILURES_PER_CLIENT``, 100/3600), against trying one password on many
  accounts; large, because many honest people can share one address (NAT).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from shared.models import KnownSignInClient, RateBucket


@dataclass(frozen=True)
class Limit:
    capacity: int
    period_seconds: float

    @property
    def rate(self) -> float:
        return self.capacity / self.period_seconds

    @classmethod
    def parse(cls, text: str) -> Limit:
        """``"10/60"``: 10 requests per 60 seconds."""
        count, _, seconds = text.partition("/")
        limit = cls(int(count), float(seconds or 60))
        if limit.capacity < 1 or limit.period_seconds <= 0:
            raise ValueError(f"bad rate limit {text!r}")
        return limit


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: int  # seconds until a token is back (0 when allowed)
    limit: Limit
    # Seconds since the bucket last changed (by :func:`peek`; infinite for a bucket never spent from).
    idle_seconds: float = math.inf

    @property
    def reset_seconds(self) -> int:
        """Seconds until the bucket is full again."""
        return math.ceil((self.limit.capacity - self.remaining) / self.limit.rate)


_TAKE = f"""
INSERT INTO {RateBucket._meta.db_table} AS bucket (key, tokens, allowed, updated_at)
VALUES (%(key)s, %(capacity)s - 1, true, clock_timestamp())
ON CONFLICT (key) DO UPDATE SET
    allowed = LEAST(%(capacity)s, bucket.tokens
        + EXTRACT(EPOCH FROM clock_timestamp() - bucket.updated_at) * %(rate)s) >= %(cost)s,
    tokens = LEAST(%(capacity)s, bucket.tokens
        + EXTRACT(EPOCH FROM clock_timestamp() - bucket.updated_at) * %(rate)s)
        - CASE WHEN LEAST(%(capacity)s, bucket.tokens
            + EXTRACT(EPOCH FROM clock_timestamp() - bucket.updated_at) * %(rate)s) >= %(cost)s
          THEN %(cost)s ELSE 0 END,
    updated_at = clock_timestamp()
RETURNING tokens, allowed
"""  # noqa: S608 - only our own table name is formatted in


def take(key: str, limit: Limit, cost: int = 1) -> Decision:
    """Spends ``cost`` tokens from ``key``'s bucket if it has them (atomically, under concurrency)."""
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, {"key": key[:255], "capacity": limit.capacity, "rate": limit.rate, "cost": cost})
        tokens, allowed = cursor.fetchone()
    retry_after = 0 if allowed else max(1, math.ceil((cost - tokens) / limit.rate))
    return Decision(bool(allowed), max(0, math.floor(tokens)), retry_after, limit)


@dataclass
class _Lease:
    tokens: int  # taken from the shared bucket by this process, not spent yet
    expires: float  # (clock) until then, running out doubles the next take
    batch: int  # the size of the take that made it
    decision: Decision  # the shared bucket as that take left it


class LeasedBuckets:
    """:func:`take`, with tokens taken from the shared bucket in batches and spent in this process.

    A key whose lease ran out within ``lease_seconds`` takes twice as many tokens next time (up to
    ``capacity // 20`` and ``max_batch``); any other key takes one, as :func:`take` does. So a busy
    key (the bench's one client address: 8 threads reading) costs one statement per ~30 requests
    instead of one per request, and a quiet key or a small limit (the sign-in class, 20/60) is exact.

    Tokens are only ever spent from the shared bucket, so no process lets more through than the
    limit. Unspent tokens stay with the process until they are spent, however long that takes: they
    were paid for, and forfeiting them would cost a busy client up to a batch per process every lease
    period (a client under its limit then met 429s). So a busy key errs on the strict side by at most
    the tokens other processes hold, one batch each.
    """

    MAX_LEASES = 10_000  # past it, expired leases are swept out (their few unspent tokens with them)

    def __init__(
        self, *, max_batch: int = 32, lease_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_batch = max_batch
        self.lease_seconds = lease_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._leases: dict[str, _Lease] = {}

    def take(self, key: str, limit: Limit) -> Decision:
        """Spends one token of ``key``'s bucket: from this process's lease when it holds one, else from the database."""
        now = self.clock()
        with self._lock:
            spent = self._spend_leased(key)
            if spent is not None:
                return spent
            lease = self._leases.get(key)
            if lease is not None and now < lease.expires:
                batch = min(lease.batch * 2, self.max_batch, max(1, limit.capacity // 20))
            else:
                batch = 1
        decision = take(key, limit, cost=batch)  # outside the lock: a round trip to the database
        if not decision.allowed and batch > 1:
            batch, decision = 1, take(key, limit)  # fewer tokens left than a batch: one will do
        with self._lock:
            if not decision.allowed:
                # Another thread of this process may have leased tokens meanwhile: those are ours to spend.
                return self._spend_leased(key) or decision
            held = self._leases.get(key)
            leftover = held.tokens if held is not None else 0  # a concurrent take's, kept, not overwritten
            self._leases[key] = _Lease(leftover + batch - 1, now + self.lease_seconds, batch, decision)
            if len(self._leases) > self.MAX_LEASES:
                self._leases = {name: held for name, held in self._leases.items() if held.expires > now}
        return replace(decision, remaining=decision.remaining + leftover + batch - 1)

    def _spend_leased(self, key: str) -> Decision | None:
        """One token from ``key``'s lease in this process, if it holds any (call with the lock held)."""
        lease = self._leases.get(key)
        if lease is None or lease.tokens <= 0:
            return None
        lease.tokens -= 1
        return replace(lease.decision, remaining=lease.decision.remaining + lease.tokens)

    def clear(self) -> None:
        """Forgets every lease (tests: the buckets they came from are rolled back)."""
        with self._lock:
            self._leases = {}


LEASES = LeasedBuckets()


def peek(key: str, limit: Limit) -> Decision:
    """The bucket's state without spending anything: whether a token is there now."""
    bucket = RateBucket.objects.filter(key=key[:255]).first()
    if bucket is None:
        return Decision(True, limit.capacity, 0, limit)
    elapsed = (timezone.now() - bucket.updated_at).total_seconds()
    tokens = min(limit.capacity, bucket.tokens + elapsed * limit.rate)
    retry_after = 0 if tokens >= 1 else max(1, math.ceil((1 - tokens) / limit.rate))
    return Decision(tokens >= 1, max(0, math.floor(tokens)), retry_after, limit, idle_seconds=elapsed)


# The longest wait the per-account delays grow to: long enough to make distributed guessing slow,
# short enough that the owner of an attacked account is never locked out for long.
ACCOUNT_DELAY_CAP_SECONDS = 900


@dataclass(frozen=True)
class LoginLimits:
    """Failed sign-ins allowed (settings ``LOGIN_FAILURES_PER_*``; see the module docstring)."""

    per_email_and_client: Limit
    per_email: Limit
    per_client: Limit


def login_limits() -> LoginLimits:
    """The failed sign-in limits from settings; raises ValueError for a malformed one."""
    return LoginLimits(
        per_email_and_client=Limit.parse(settings.LOGIN_FAILURES_PER_EMAIL_AND_CLIENT),
        per_email=Limit.parse(settings.LOGIN_FAILURES_PER_EMAIL),
        per_client=Limit.parse(settings.LOGIN_FAILURES_PER_CLIENT),
    )


def sign_in_wait(*, account: str, client_address: str) -> int:
    """Seconds before ``account`` may try to sign in from ``client_address`` again; 0: now.

    ``account`` is the normalised login (an email). Spends nothing: only a failure does
    (:func:`sign_in_failed`), so the right password is refused too while this is not 0, and an
    attacker cannot tell a hit from a block.
    """
    pair, per_account, client = (peek(key, limit) for key, limit in _sign_in_buckets(account, client_address))
    waits = [decision.retry_after for decision in (pair, client) if not decision.allowed]
    delay = account_delay(per_account=per_account)
    # Only an account under attack has a delay; only then is the address looked up among the known ones.
    if delay and not _known_client(account, client_address):
        waits.append(delay)
    return max([0, *waits])


def sign_in_failed(*, account: str, client_address: str) -> None:
    """Records a failed sign-in of ``account`` from ``client_address`` in all three buckets."""
    for key, limit in _sign_in_buckets(account, client_address):
        take(key, limit)


def sign_in_succeeded(*, account: str, client_address: str) -> None:
    """Records that ``account`` signed in from ``client_address``: from there, no per-account delays."""
    KnownSignInClient.objects.bulk_create(
        [KnownSignInClient(key=_known_client_key(account, client_address), last_success=timezone.now())],
        update_conflicts=True,
        unique_fields=["key"],
        update_fields=["last_success"],
    )


def forget_old_sign_in_clients() -> int:
    """Deletes the known sign-in addresses older than ``LOGIN_KNOWN_CLIENT_DAYS``; how many."""
    deleted, _ = KnownSignInClient.objects.filter(last_success__lt=_known_since()).delete()
    return deleted


def _known_client(account: str, client_address: str) -> bool:
    key = _known_client_key(account, client_address)
    return KnownSignInClient.objects.filter(key=key, last_success__gte=_known_since()).exists()


def _known_since() -> datetime:
    return timezone.now() - timedelta(days=settings.LOGIN_KNOWN_CLIENT_DAYS)


def _known_client_key(account: str, client_address: str) -> str:
    return _hashed("login-known", f"{account} {client_address}")


def account_delay(*, per_account: Decision) -> int:
    """Seconds this account's next sign-in must still wait: 0 while under half its failures are spent,
    then doubling with each further failure since the last one (capped), or until a token is back."""
    if not per_account.allowed:
        return per_account.retry_after
    beyond_free = (per_account.limit.capacity - per_account.remaining) - per_account.limit.capacity // 2
    if beyond_free <= 0:
        return 0
    delay = min(ACCOUNT_DELAY_CAP_SECONDS, 2**beyond_free)
    return max(0, math.ceil(delay - per_account.idle_seconds))


def _sign_in_buckets(account: str, client_address: str) -> list[tuple[str, Limit]]:
    """Keys hashed so the bucket table holds no email addresses and any length fits the key column."""
    limits = login_limits()
    return [
        (_hashed("login-failures:email-client", f"{account} {client_address}"), limits.per_email_and_client),
        (_hashed("login-failures:email", account), limits.per_email),
        (_hashed("login-failures:client", client_address), limits.per_client),
    ]


def _hashed(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()}"
