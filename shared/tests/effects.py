"""A deliberately non-idempotent test handler: each application appends a row to ``test_effects``.

If the inbox ever let an event through twice, its row would appear twice, so
the failure tests count rows per event id. ``EFFECT_DELAY`` (seconds) keeps
each handler open long enough to be killed in the middle of it.

The handlers live in a registry of their own, :data:`HANDLERS`, never in the service's: the
shared tests select it (``EVENT_HANDLERS``, see ``conftest.py``) or pass it to the consumer.
"""

from __future__ import annotations

import os
import time

from django.db import connection

from shared.events import Envelope, EventHandlers

HANDLERS = EventHandlers()

EVENT_TYPE = "inventory.changed"  # a real type with a per-key sequence number (stock_version)


@HANDLERS.handles(EVENT_TYPE)
def record_effect(envelope: Envelope) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO test_effects (event_id, key, seq) VALUES (%s, %s, %s)",
            [envelope.id, envelope.key, envelope.payload["stock_version"]],
        )
    delay = float(os.environ.get("EFFECT_DELAY", "0"))
    if delay:
        time.sleep(delay)


def stock_changed(product_id: str, seq: int) -> Envelope:
    return Envelope(
        type=EVENT_TYPE,
        key=product_id,
        payload={
            "product_id": product_id,
            "sku": f"SKU-{product_id[:8]}",
            "on_hand": seq,
            "reserved": 0,
            "available": seq,
            "stock_version": seq,
        },
    )


flaky_failures: dict[str, int] = {}


@HANDLERS.handles("inventory.released")
def flaky(envelope: Envelope) -> None:
    """Fails as many times as ``flaky_failures`` says for this order id, then succeeds."""
    order_id = envelope.payload["order_id"]
    if flaky_failures.get(order_id, 0) > 0:
        flaky_failures[order_id] -= 1
        raise RuntimeError(f"transient failure for {order_id}")


def released(order_id: str) -> Envelope:
    return Envelope(type="inventory.released", key=order_id, payload={"order_id": order_id, "lines": []})
