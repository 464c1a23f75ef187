"""``shop.product.v1.ProductService`` (protos/product/v1/product.proto): other services read the catalog here.

Inactive products are returned like any other, with ``is_active`` false: old orders still
refer to them, and whether one may be sold is the caller's decision.
"""

from __future__ import annotations

import grpc

from catalog.models import Product
from catalog.selectors import product_get, product_get_many
from protos.product.v1 import product_pb2, product_pb2_grpc
from shared.grpc_server import found, registration, requested_id, requested_ids
from shared.money import money

MAX_BATCH = 500  # ids per GetProducts call; an order has at most 50 lines


class ProductServicer(product_pb2_grpc.ProductServiceServicer):
    def GetProducts(
        self, request: product_pb2.GetProductsRequest, context: grpc.ServicerContext
    ) -> product_pb2.GetProductsResponse:
        """The products found, in the order asked and each once, plus the ids no product has; one query."""
        wanted = list(dict.fromkeys(requested_ids(context, request.ids, noun="a product", most=MAX_BATCH)))
        found = product_get_many(product_ids=wanted)
        return product_pb2.GetProductsResponse(
            products=[product_message(found[product_id]) for product_id in wanted if product_id in found],
            missing_ids=[str(product_id) for product_id in wanted if product_id not in found],
        )

    def GetProduct(self, request: product_pb2.GetProductRequest, context: grpc.ServicerContext) -> product_pb2.Product:
        product_id = requested_id(context, request.id, noun="a product")
        product = product_get(product_id=product_id, include_inactive=True)
        return product_message(found(context, product, f"No product has the id {product_id}."))


def product_message(product: Product) -> product_pb2.Product:
    return product_pb2.Product(
        id=str(product.id),
        sku=product.sku,
        name=product.name,
        price=money(product.price),
        currency=product.currency,
        is_active=product.is_active,
        category=product.category.slug if product.category is not None else "",
        available=product.available,
    )


register = registration(
    product_pb2_grpc.add_ProductServiceServicer_to_server,
    ProductServicer,
    product_pb2.DESCRIPTOR.services_by_name["ProductService"],
)
