"""Demo stock (``manage.py seed_demo``): the demo catalog's products get stock once, always the same amounts."""

from __future__ import annotations

import time
import zlib

from django.db import transaction

from inventory.models import MovementKind, StockItem
from inventory.services import stock_adjust

DEMO_SKU_PREFIX = "DEMO-"  # the SKUs of product_svc's demo catalog (catalog.demo)
DEMO_REASON = "demo stock"
POLL_SECONDS = 0.5


def demo_quantity(sku: str) -> int:
    """The demo stock of ``sku``: between 5 and 100, the same on every machine and every run."""
    return 5 + zlib.crc32(sku.encode()) % 96


def demo_stock_rows() -> int:
    return StockItem.objects.filter(sku__startswith=DEMO_SKU_PREFIX).count()


def demo_stock_wait(*, expect: int, timeout: float) -> int:
    """Polls until ``expect`` demo stock rows exist (they come from product.created) or ``timeout`` seconds pass.

    Returns how many exist then, which is less than ``expect`` when the time ran out.
    """
    deadline = time.monotonic() + timeout
    while (found := demo_stock_rows()) < expect and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    return found


def demo_stock_seed() -> int:
    """Stocks every demo product that never had an adjustment; returns how many it stocked.

    Each goes through :func:`stock_adjust` (a movement with reason "demo stock", inventory.changed).
    The check and the adjustment share the row lock, so two seeders never stock a product twice,
    and a product whose stock staff already set is left alone.
    """
    stocked = 0
    demo = StockItem.objects.filter(sku__startswith=DEMO_SKU_PREFIX).order_by("product_id")
    for product_id in demo.values_list("product_id", flat=True):
        with transaction.atomic():
            stock_item = StockItem.objects.select_for_update().get(product_id=product_id)
            if stock_item.movements.filter(kind=MovementKind.ADJUSTMENT).exists():
                continue
            stock_adjust(product_id=product_id, delta=demo_quantity(stock_item.sku), reason=DEMO_REASON, actor=None)
            stocked += 1
    return stocked
