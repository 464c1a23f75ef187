"""Handlers of the events inventory consumes. Imported at startup (``InventoryConfig.ready``) to register them."""

from __future__ import annotations

from uuid import UUID

from inventory.services import stock_item_create_for_product, stock_item_deactivate, stock_item_sync_product
from shared.events import Envelope, handles


@handles("product.created")
def on_product_created(envelope: Envelope) -> None:
    payload = envelope.payload
    stock_item_create_for_product(product_id=UUID(payload["product_id"]), sku=payload["sku"])


@handles("product.updated")
def on_product_updated(envelope: Envelope) -> None:
    payload = envelope.payload
    stock_item_sync_product(product_id=UUID(payload["product_id"]), sku=payload["sku"], is_active=payload["is_active"])


@handles("product.deleted")
def on_product_deleted(envelope: Envelope) -> None:
    payload = envelope.payload
    stock_item_deactivate(product_id=UUID(payload["product_id"]), sku=payload["sku"])
