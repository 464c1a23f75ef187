"""Reads of stock and of the ledger."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db.models import F, Q, QuerySet

from inventory.models import Movement, Reservation, StockItem

# available (on_hand - reserved) at or below the row's own threshold
LOW_STOCK = Q(on_hand__lte=F("reserved") + F("low_stock_threshold"))


def stock_item_get(*, product_id: uuid.UUID) -> StockItem | None:
    return StockItem.objects.filter(product_id=product_id).first()


def stock_item_list(*, low_stock: bool = False) -> QuerySet[StockItem]:
    """Every stock row by SKU; ``low_stock`` keeps those whose available is at or below their threshold."""
    items = StockItem.objects.order_by("sku", "product_id")
    if low_stock:
        items = items.filter(LOW_STOCK)
    return items


def stock_items_for_products(*, product_ids: Sequence[uuid.UUID]) -> list[StockItem]:
    """The stock rows of ``product_ids`` that exist, in the order asked (each once), in one query."""
    found = {item.product_id: item for item in StockItem.objects.filter(product_id__in=set(product_ids))}
    return [found[product_id] for product_id in dict.fromkeys(product_ids) if product_id in found]


def movement_list(*, stock_item: StockItem) -> QuerySet[Movement]:
    """The ledger of one product, newest first."""
    return Movement.objects.filter(stock_item=stock_item).order_by("-created_at", "-id")


def reservation_get_for_order(*, order_id: uuid.UUID) -> Reservation | None:
    """What inventory decided for the order (at most one reservation), with its lines."""
    return Reservation.objects.prefetch_related("lines").filter(order_id=order_id).first()


def movement_list_for_order(*, order_id: uuid.UUID) -> QuerySet[Movement]:
    """The ledger rows of one order, oldest first, with their stock rows (for the SKU)."""
    return Movement.objects.filter(order_id=order_id).select_related("stock_item").order_by("created_at", "id")
