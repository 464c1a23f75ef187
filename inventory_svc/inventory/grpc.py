"""``shop.inventory.v1.InventoryService`` (protos/inventory/v1/inventory.proto): stock levels for other services."""

from __future__ import annotations

import grpc

from inventory.models import StockItem
from inventory.selectors import stock_items_for_products
from protos.inventory.v1 import inventory_pb2, inventory_pb2_grpc
from shared.grpc_server import registration, requested_ids

MAX_PRODUCT_IDS = 500  # an order has at most 50 lines; a cart page far fewer


class InventoryServicer(inventory_pb2_grpc.InventoryServiceServicer):
    def GetStock(
        self, request: inventory_pb2.GetStockRequest, context: grpc.ServicerContext
    ) -> inventory_pb2.GetStockResponse:
        """Levels of the asked products that have stock rows, in the order asked; one query."""
        product_ids = requested_ids(context, request.product_ids, noun="a product", most=MAX_PRODUCT_IDS)
        stock_items = stock_items_for_products(product_ids=product_ids) if product_ids else []
        return inventory_pb2.GetStockResponse(levels=[stock_level(stock_item) for stock_item in stock_items])


def stock_level(stock_item: StockItem) -> inventory_pb2.StockLevel:
    return inventory_pb2.StockLevel(
        product_id=str(stock_item.product_id),
        sku=stock_item.sku,
        on_hand=stock_item.on_hand,
        reserved=stock_item.reserved,
        available=stock_item.available,
    )


register = registration(
    inventory_pb2_grpc.add_InventoryServiceServicer_to_server,
    InventoryServicer,
    inventory_pb2.DESCRIPTOR.services_by_name["InventoryService"],
)
