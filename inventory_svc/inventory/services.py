"""Writes to stock. Event handlers call these; each is safe to run twice for one product."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction

from inventory.models import StockItem


def stock_item_create_for_product(*, product_id: UUID, sku: str) -> StockItem:
    """The stock row of a new product, at zero; an existing row is returned unchanged."""
    stock_item, _ = StockItem.objects.get_or_create(product_id=product_id, defaults={"sku": sku})
    return stock_item


def stock_item_sync_product(*, product_id: UUID, sku: str, is_active: bool) -> StockItem:
    """Copies the product's SKU and status onto its stock row (created at zero when absent); levels are untouched."""
    with transaction.atomic():
        stock_item, created = StockItem.objects.select_for_update().get_or_create(
            product_id=product_id, defaults={"sku": sku, "is_active": is_active}
        )
        if not created and (stock_item.sku, stock_item.is_active) != (sku, is_active):
            stock_item.sku, stock_item.is_active = sku, is_active
            stock_item.save(update_fields=["sku", "is_active", "updated_at"])
    return stock_item


def stock_item_deactivate(*, product_id: UUID, sku: str) -> StockItem:
    """Marks the product's stock row inactive (creating it inactive when absent); its levels are kept."""
    with transaction.atomic():
        stock_item, created = StockItem.objects.select_for_update().get_or_create(
            product_id=product_id, defaults={"sku": sku, "is_active": False}
        )
        if not created and stock_item.is_active:
            stock_item.is_active = False
            stock_item.save(update_fields=["is_active", "updated_at"])
    return stock_item


def stock_item_set_low_stock_threshold(*, stock_item: StockItem, threshold: int) -> None:
    """Writes only the threshold, so a stale ``stock_item`` never overwrites levels changed meanwhile."""
    stock_item.low_stock_threshold = threshold
    stock_item.save(update_fields=["low_stock_threshold", "updated_at"])
