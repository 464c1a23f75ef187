"""Reads of the catalog."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db.models import Q, QuerySet

from catalog.models import Category, Product

# ?ordering= values and what they sort by; the id breaks ties so pages never overlap or skip a row.
ORDERINGS: dict[str, tuple[str, ...]] = {
    "price": ("price", "id"),
    "-price": ("-price", "id"),
    "name": ("name", "id"),
    "-created_at": ("-created_at", "id"),
}
DEFAULT_ORDERING = "-created_at"


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("name", "slug")


def product_skus_taken(*, skus: Iterable[str]) -> set[str]:
    """Which of ``skus`` already belong to a product, active or not."""
    return set(Product.objects.filter(sku__in=list(skus)).values_list("sku", flat=True))


def product_list(
    *,
    include_inactive: bool = False,
    search: str = "",
    category: str | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    in_stock: bool | None = None,
    is_active: bool | None = None,
    ordering: str = DEFAULT_ORDERING,
) -> QuerySet[Product]:
    """The products a list shows, filtered and ordered; every filter is optional.

    Only active products unless ``include_inactive`` (staff); ``is_active`` then narrows
    further. ``search`` is a case-insensitive substring of the name, description or SKU
    (served by the trigram indexes on ``UPPER(column)``). ``in_stock`` means
    ``available > 0``. ``ordering`` is a key of :data:`ORDERINGS`.
    """
    products = Product.objects.select_related("category").order_by(*ORDERINGS[ordering])
    if not include_inactive:
        products = products.filter(is_active=True)
    if is_active is not None:
        products = products.filter(is_active=is_active)
    term = search.strip()
    if term:
        products = products.filter(Q(name__icontains=term) | Q(description__icontains=term) | Q(sku__icontains=term))
    if category is not None:
        products = products.filter(category__slug=category)
    if min_price is not None:
        products = products.filter(price__gte=min_price)
    if max_price is not None:
        products = products.filter(price__lte=max_price)
    if in_stock is not None:
        products = products.filter(available__gt=0) if in_stock else products.filter(available=0)
    return products


def product_get(*, product_id: uuid.UUID, include_inactive: bool = False) -> Product | None:
    """The product, or None when there is none (or it is inactive and ``include_inactive`` is false)."""
    products = Product.objects.select_related("category").filter(pk=product_id)
    if not include_inactive:
        products = products.filter(is_active=True)
    return products.first()


def product_get_many(*, product_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Product]:
    """The products of ``product_ids`` that exist, active or not, by id; one query for the whole batch.

    Only the fields the gRPC ``Product`` message carries are read (:data:`CATALOG_MESSAGE_FIELDS`): every
    order placement and cart read asks for these, and the description and timestamps would only be decoded
    to be dropped. Reading another field of the result costs a query per product.
    """
    if not product_ids:
        return {}
    products = Product.objects.select_related("category").only(*CATALOG_MESSAGE_FIELDS).filter(pk__in=product_ids)
    return {product.id: product for product in products}


# What :func:`catalog.grpc.product_message` reads of a product.
CATALOG_MESSAGE_FIELDS = ("id", "sku", "name", "price", "currency", "is_active", "available", "category__slug")
