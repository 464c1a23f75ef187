"""Token buckets in the service's database: one atomic statement per request, shared by all workers.

A bucket holds up to ``capacity`` tokens and refills at ``capacity / period``
per second. :func:`take` spends a token when there is one; when there is none
it spends nothing and says how long until there will be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from shared.models import RateBucket


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


def peek(key: str, limit: Limit) -> Decision:
    """The bucket's state without spending anything: whether a token is there now."""
    bucket = RateBucket.objects.filter(key=key[:255]).first()
    if bucket is None:
        return Decision(True, limit.capacity, 0, limit)
    elapsed = (timezone.now() - bucket.updated_at).total_seconds()
    tokens = min(limit.capacity, bucket.tokens + elapsed * limit.rate)
    retry_after = 0 if tokens >= 1 else max(1, math.ceil((1 - tokens) / limit.rate))
    return Decision(tokens >= 1, max(0, math.floor(tokens)), retry_after, limit, idle_seconds=elapsed)
