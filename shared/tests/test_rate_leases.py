"""Leased token buckets (shared.ratelimit.LeasedBuckets): fewer statements for busy keys, never more than the limit."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared.ratelimit import LeasedBuckets, Limit, peek

pytestmark = pytest.mark.django_db


class FrozenClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_busy_key_takes_its_tokens_in_growing_batches():
    leases = LeasedBuckets(clock=FrozenClock())
    limit = Limit(600, 60)  # batches of up to 600 // 20 = 30
    with CaptureQueriesContext(connection) as statements:
        decisions = [leases.take("t:busy", limit) for _ in range(100)]
    assert all(decision.allowed for decision in decisions)
    # Batches of 1, 2, 4, 8, 16, 30, 30, 30: 121 tokens taken for 100 requests, in 8 statements, not 100.
    assert len(statements) == 8
    assert peek("t:busy", limit).remaining == 600 - 121
    assert decisions[-1].remaining == 600 - 100  # the header counts the unspent lease as the caller's


def test_leases_never_let_more_through_than_the_limit_across_processes():
    clock = FrozenClock()
    workers = [LeasedBuckets(clock=clock), LeasedBuckets(clock=clock)]
    limit = Limit(100, 3600)  # batches of up to 5
    allowed = sum(workers[number % 2].take("t:shared", limit).allowed for number in range(300))
    assert allowed <= 100
    assert allowed >= 100 - 2 * 4  # at most one batch's rest held by each of the two workers


def test_a_refused_request_says_when_to_retry():
    leases = LeasedBuckets(clock=FrozenClock())
    limit = Limit(3, 60)
    decisions = [leases.take("t:tight", limit) for _ in range(4)]
    assert [decision.allowed for decision in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after == 20


def test_a_quiet_key_spends_exactly_one_token_per_request():
    clock = FrozenClock()
    leases = LeasedBuckets(clock=clock)
    limit = Limit(600, 86_400)  # refills too slowly to blur the count
    for _ in range(10):
        leases.take("t:quiet", limit)
        clock.now += 2.0  # each lease has expired before the next request
    assert peek("t:quiet", limit).remaining == 590


def test_a_small_limit_is_exact_one_statement_per_request():
    leases = LeasedBuckets(clock=FrozenClock())
    limit = Limit(20, 60)  # the sign-in class: 20 // 20 = batches of one
    with CaptureQueriesContext(connection) as statements:
        decisions = [leases.take("t:login", limit) for _ in range(25)]
    assert sum(decision.allowed for decision in decisions) == 20
    assert len(statements) == 25


def test_tokens_left_in_an_expired_lease_are_still_spent_not_forfeited():
    """A busy client under its limit must never meet a 429: tokens its lease held when the lease expired
    were taken from the bucket already, so forfeiting them would charge requests it never made."""
    clock = FrozenClock()
    workers = [LeasedBuckets(clock=clock), LeasedBuckets(clock=clock)]
    limit = Limit(100, 86_400)  # batches of up to 5; refills too slowly to blur the count
    allowed = 0
    for number in range(200):
        allowed += workers[number % 2].take("t:bursty", limit).allowed
        if number % 7 == 6:
            clock.now += 1.5  # a pause: both leases expire holding tokens
    # Every token is spent by one worker or the other, bar what each still holds at the end.
    assert allowed >= 100 - 2 * 4
