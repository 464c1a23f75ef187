"""Handlers of the events the catalog consumes. Imported at startup (``CatalogConfig.ready``) to register them."""

from __future__ import annotations

from uuid import UUID

from catalog.services import product_apply_stock
from shared.events import Envelope, handles


@handles("inventory.changed")
def on_inventory_changed(envelope: Envelope) -> None:
    """Keeps the ``available`` projection; stale and repeated versions change nothing, so redelivery is safe."""
    payload = envelope.payload
    product_apply_stock(
        product_id=UUID(payload["product_id"]), available=payload["available"], stock_version=payload["stock_version"]
    )
