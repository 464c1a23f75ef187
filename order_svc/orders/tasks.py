"""The order service's periodic tasks, run by its consumer processes (:mod:`shared.periodic`).

Imported at startup (``OrdersConfig.ready``), so ``consume_events`` sweeps with no process or cron of its own.
"""

from __future__ import annotations

from datetime import timedelta

from carts.services import cart_delete_stale
from django.conf import settings

from orders.services import order_expire_pending
from shared.periodic import periodic


@periodic("orders.expire_pending", every_seconds=settings.ORDER_EXPIRY_INTERVAL_SECONDS)
def expire_pending_orders() -> None:
    """Rejects the orders pending too long, and deletes the carts untouched for ``CART_TTL_DAYS``."""
    order_expire_pending(older_than=timedelta(seconds=settings.ORDER_PENDING_TIMEOUT_SECONDS))
    cart_delete_stale(older_than=timedelta(days=settings.CART_TTL_DAYS))
