"""Rate limits on forwarded requests: token buckets in the gateway's database (shared.ratelimit).

Two route classes, each with its own limit (settings ``GATEWAY_RATE_LIMITS``):

- ``login``: ``POST`` to register, token and token refresh (the routes
  :data:`shared.access.ROUTES` puts in this class), per client IP; the
  brake on password guessing and sign-up floods.
- ``default``: every other forwarded request, per user when the caller presents
  a valid token, else per client IP.

A request spends from one bucket only; busy buckets lend each process tokens in batches
(:class:`shared.ratelimit.LeasedBuckets`), so the limit holds without a statement per request.
The gateway's own endpoints (probes, metrics, admin, docs) are never limited. Every limited answer carries
``X-RateLimit-Limit`` (bucket size), ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (seconds until the bucket is full again); a refused one
also ``Retry-After`` (seconds until the next request may pass).

The client IP is :func:`shared.client_ip.client_ip` (``TRUSTED_PROXY_COUNT``).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest

from gateway.refusals import Refused
from shared.access import DEFAULT, LOGIN, route_for
from shared.client_ip import client_ip
from shared.jwt_auth import Principal
from shared.ratelimit import LEASES, Decision, Limit

logger = logging.getLogger(__name__)


def route_class(request: HttpRequest) -> str:
    """``login`` for a POST to a route the shared table puts in the sign-in class, else ``default``."""
    route = route_for(request.path)
    return LOGIN if request.method == "POST" and route is not None and route.rate_limit == LOGIN else DEFAULT


def configured_limit(name: str) -> Limit:
    """The limit of a route class; settings hold ``"count/seconds"`` text (or a :class:`Limit`)."""
    value = settings.GATEWAY_RATE_LIMITS[name]
    return value if isinstance(value, Limit) else Limit.parse(value)


def bucket_key(request: HttpRequest, principal: Principal | None) -> str:
    """``gw:<class>:ip:<address>`` or ``gw:<class>:user:<id>``."""
    name = route_class(request)
    if name == LOGIN or principal is None:
        return f"gw:{name}:ip:{client_ip(request)}"
    return f"gw:{name}:user:{principal.id}"


def check_rate(request: HttpRequest, principal: Principal | None) -> Decision | None:
    """Spends one token for this request; raises :class:`Refused` (429) when its bucket is empty.

    Returns the decision (for the rate-limit headers), or None when the bucket
    could not be reached: a broken gateway database must not take the whole API
    down, so the request then passes unlimited (logged; the user service keeps
    its own brake on failed logins).
    """
    key = bucket_key(request, principal)
    try:
        # Leased: a busy caller's tokens come in batches, one statement per batch, not per request.
        decision = LEASES.take(key, configured_limit(route_class(request)))
    except DatabaseError as exc:
        logger.error("rate limit not applied, the bucket store failed: %s", exc)
        return None
    if not decision.allowed:
        logger.info("rate limited %s %s (%s)", request.method, request.path, key)
        raise Refused(
            429,
            f"Too many requests; try again in {decision.retry_after} s.",
            headers={"Retry-After": str(decision.retry_after), **rate_limit_headers(decision)},
        )
    return decision


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(decision.limit.capacity),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset_seconds),
    }
