"""The catalog as order placement and the cart see it: one batch ``ProductService.GetProducts`` call per order
or cart read.

Called before any database transaction opens, so a slow product service never holds a
connection or a lock; the deadline bounds the wait, and a failure is a 503 the client may retry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import grpc

from orders.errors import ProductServiceFailed, ProductServiceUnavailable
from protos.product.v1 import product_pb2, product_pb2_grpc
from shared.grpc_client import call, channel
from shared.money import to_cents

logger = logging.getLogger(__name__)

LOOKUP_DEADLINE_SECONDS = 2.0
# The product service is down or slow: worth retrying later, unlike any other failure.
UNAVAILABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


@dataclass(frozen=True)
class CatalogProduct:
    id: uuid.UUID
    sku: str
    name: str
    price: Decimal
    currency: str
    is_active: bool
    # Units that can be sold now: the catalog's projection of inventory's stock (the cart warns with it).
    available: int


@dataclass(frozen=True)
class ProductLookup:
    found: dict[uuid.UUID, CatalogProduct]
    missing: frozenset[uuid.UUID]


def products_get(*, ids: Sequence[uuid.UUID]) -> ProductLookup:
    """The catalog's products of ``ids`` (any the service does not report are ``missing``).

    Raises :class:`~orders.errors.ProductServiceUnavailable` (503) when the service is down or
    misses the deadline, :class:`~orders.errors.ProductServiceFailed` (502) on any other failure.
    """
    stub = product_pb2_grpc.ProductServiceStub(channel("product"))
    request = product_pb2.GetProductsRequest(ids=[str(product_id) for product_id in ids])
    try:
        response = call(stub.GetProducts, request, deadline=LOOKUP_DEADLINE_SECONDS)
    except grpc.RpcError as exc:
        code = exc.code() if isinstance(exc, grpc.Call) else None
        logger.warning("ProductService.GetProducts failed: %s", code)
        if code in UNAVAILABLE_CODES:
            raise ProductServiceUnavailable(
                "The product service is not answering, so the order cannot be priced; try again shortly."
            ) from exc
        raise ProductServiceFailed("The product service failed to price the order.") from exc
    wanted = set(ids)
    found = {product.id: product for product in map(_product, response.products) if product.id in wanted}
    return ProductLookup(found=found, missing=frozenset(wanted - found.keys()))


def _product(message: product_pb2.Product) -> CatalogProduct:
    try:
        price = Decimal(message.price)
        product_id = uuid.UUID(message.id)
    except (InvalidOperation, ValueError) as exc:
        logger.error("ProductService returned a malformed product: id=%r price=%r", message.id, message.price)
        raise ProductServiceFailed("The product service returned a malformed product.") from exc
    if not price.is_finite() or price < 0:
        raise ProductServiceFailed(f"The product service returned an invalid price for product {product_id}.")
    return CatalogProduct(
        id=product_id,
        sku=message.sku,
        name=message.name,
        price=to_cents(price),
        currency=message.currency,
        is_active=message.is_active,
        available=message.available,
    )
