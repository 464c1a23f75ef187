"""What inventory adds to an order's saga story (:mod:`shared.saga`): the reservation and its ledger movements.
Imported at startup (``InventoryConfig.ready``) to register them."""

from __future__ import annotations

import uuid
from typing import Any

from inventory.selectors import movement_list_for_order, reservation_get_for_order, stock_items_for_products
from shared.saga import moment, story_part


@story_part("reservation")
def reservation_part(*, order_id: uuid.UUID) -> dict[str, Any] | None:
    reservation = reservation_get_for_order(order_id=order_id)
    if reservation is None:
        return None
    lines = list(reservation.lines.all())
    stock = stock_items_for_products(product_ids=[line.product_id for line in lines])
    skus = {item.product_id: item.sku for item in stock}
    return {
        "state": reservation.state,
        "created_at": moment(reservation.created_at),
        "updated_at": moment(reservation.updated_at),
        "lines": [
            {"product_id": str(line.product_id), "sku": skus.get(line.product_id, ""), "quantity": line.quantity}
            for line in lines
        ],
    }


@story_part("movements")
def movements_part(*, order_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {
            "kind": movement.kind,
            "product_id": str(movement.stock_item.product_id),
            "sku": movement.stock_item.sku,
            "on_hand_delta": movement.on_hand_delta,
            "reserved_delta": movement.reserved_delta,
            "reason": movement.reason,
            "created_at": moment(movement.created_at),
        }
        for movement in movement_list_for_order(order_id=order_id)
    ]
