"""Handlers of the events inventory consumes. Imported at startup (``InventoryConfig.ready``) to register them.

Each runs inside the transaction that records the event in the inbox, and calls one service.
"""

from __future__ import annotations

from uuid import UUID

from inventory.services import (
    StockLine,
    stock_item_create_for_product,
    stock_item_deactivate,
    stock_item_sync_product,
    stock_release,
    stock_reserve,
    stock_ship,
)
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


@handles("order.placed")
def on_order_placed(envelope: Envelope) -> None:
    payload = envelope.payload
    stock_reserve(
        order_id=UUID(payload["order_id"]),
        lines=[StockLine(product_id=UUID(line["product_id"]), quantity=line["quantity"]) for line in payload["lines"]],
    )


@handles("order.cancelled")
def on_order_cancelled(envelope: Envelope) -> None:
    payload = envelope.payload
    why = payload.get("reason")
    stock_release(order_id=UUID(payload["order_id"]), reason=f"order cancelled: {why}" if why else "order cancelled")


@handles("order.rejected")
def on_order_rejected(envelope: Envelope) -> None:
    # Usually nothing to release (the reservation failed); a pending order that timed out may have
    # had its stock reserved after all, and that is given back here.
    payload = envelope.payload
    stock_release(order_id=UUID(payload["order_id"]), reason=f"order rejected: {payload['reason']}")


@handles("order.shipped")
def on_order_shipped(envelope: Envelope) -> None:
    stock_ship(order_id=UUID(envelope.payload["order_id"]))
