"""The client's address, in the gateway and in every service: one function, one setting.

``TRUSTED_PROXY_COUNT`` (settings, default 0) is how many reverse proxies stand in front of this
process, each appending the address it saw to ``X-Forwarded-For``. The gateway counts for the
services behind it (1 there); a load balancer in front of the gateway counts for the gateway.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str:
    """The address the request came from, through at most ``TRUSTED_PROXY_COUNT`` reverse proxies.

    ``request``: a Django ``HttpRequest`` or a DRF ``Request``. Each trusted proxy appends the
    address it saw to ``X-Forwarded-For``, so the client is the N-th entry from the right; entries
    further left were written by the client and are never believed. With fewer entries than trusted
    proxies, or an entry that is not an address, the request did not come the way the proxies would
    send it, and the peer address (``REMOTE_ADDR``) is used.
    """
    peer = str(request.META.get("REMOTE_ADDR", ""))
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return peer
    forwarded = [entry.strip() for entry in request.headers.get("X-Forwarded-For", "").split(",") if entry.strip()]
    if len(forwarded) < hops:
        return peer
    try:
        return str(ipaddress.ip_address(forwarded[-hops]))
    except ValueError:
        return peer
