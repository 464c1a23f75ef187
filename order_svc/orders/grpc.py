"""``shop.order.v1.OrderService`` (protos/order/v1/order.proto): other services read orders here."""

from __future__ import annotations

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from orders.models import Order
from orders.selectors import order_get
from protos.order.v1 import order_pb2, order_pb2_grpc
from shared.grpc_server import found, registration, requested_id
from shared.money import money


class OrderServicer(order_pb2_grpc.OrderServiceServicer):
    def GetOrder(self, request: order_pb2.GetOrderRequest, context: grpc.ServicerContext) -> order_pb2.Order:
        order_id = requested_id(context, request.id, noun="an order")
        return order_message(found(context, order_get(order_id=order_id), f"No order has the id {order_id}."))


def order_message(order: Order) -> order_pb2.Order:
    created = Timestamp()
    created.FromDatetime(order.created_at)
    return order_pb2.Order(
        id=str(order.id),
        customer_id=str(order.customer_id),
        status=order.status,
        items=[
            order_pb2.OrderLine(
                product_id=str(line.product_id),
                sku=line.sku,
                name=line.name,
                unit_price=money(line.unit_price),
                quantity=line.quantity,
                line_total=money(line.line_total),
            )
            for line in order.lines.all()
        ],
        total=money(order.total),
        currency=order.currency,
        created_at=created,
    )


register = registration(
    order_pb2_grpc.add_OrderServiceServicer_to_server,
    OrderServicer,
    order_pb2.DESCRIPTOR.services_by_name["OrderService"],
)
