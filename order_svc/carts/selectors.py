"""Reads of carts: a customer's cart, priced live by the catalog with one batch ``GetProducts`` call.

What the cart shows is what checking out would order now: today's price and stock, and warnings
for what changed since a line was added (``price_changed``), what the stock cannot cover
(``insufficient_stock``) and what can no longer be ordered (``unavailable``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from orders.products import CatalogProduct, products_get

from carts.models import Cart, CartLine
from shared.money import money


@dataclass(frozen=True)
class PricedLine:
    product_id: uuid.UUID
    sku: str
    name: str
    unit_price: Decimal
    quantity: int
    line_total: Decimal
    available: int


@dataclass(frozen=True)
class PricedCart:
    """The cart as the API shows it. ``total`` counts the lines that can be ordered (not ``unavailable`` ones)."""

    items: list[PricedLine]
    total: Decimal
    currency: str | None
    warnings: list[dict[str, Any]]
    updated_at: datetime | None


def cart_get(*, customer_id: uuid.UUID) -> Cart | None:
    return Cart.objects.filter(pk=customer_id).first()


def cart_priced(*, customer_id: uuid.UUID, skipped: Sequence[uuid.UUID] = ()) -> PricedCart:
    """The customer's cart priced now; an empty one (``items: []``) when they have none.

    ``skipped`` are products a merge left out as unsellable: they are warned about as ``unavailable``
    too. Raises the product service's errors (:mod:`orders.products`), 503 when it is down.
    """
    cart = cart_get(customer_id=customer_id)
    lines = list(CartLine.objects.filter(cart_id=customer_id).order_by("added_at", "id")) if cart else []
    catalog = products_get(ids=[line.product_id for line in lines]).found if lines else {}
    items: list[PricedLine] = []
    warnings: list[dict[str, Any]] = []
    total = Decimal("0.00")
    currencies: list[str] = []
    for line in lines:
        product = catalog.get(line.product_id)
        priced, line_warnings = _price_line(line, product)
        items.append(priced)
        warnings.extend(line_warnings)
        if product is not None and product.is_active:
            total += priced.line_total
            currencies.append(product.currency)
        else:
            currencies.append(line.currency)
    warnings.extend({"code": "unavailable", "product_id": str(product_id)} for product_id in skipped)
    return PricedCart(
        items=items,
        total=total,
        currency=currencies[0] if currencies else None,
        warnings=warnings,
        updated_at=cart.updated_at if cart else None,
    )


def _price_line(line: CartLine, product: CatalogProduct | None) -> tuple[PricedLine, list[dict[str, Any]]]:
    """The line at today's price and stock, with its warnings; a product no longer sold keeps the line's own."""
    product_id = str(line.product_id)
    if product is None or not product.is_active:
        priced = PricedLine(
            product_id=line.product_id,
            sku=product.sku if product else line.sku,
            name=product.name if product else line.name,
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=line.unit_price * line.quantity,
            available=0,
        )
        return priced, [{"code": "unavailable", "product_id": product_id}]
    warnings: list[dict[str, Any]] = []
    if product.price != line.unit_price:
        warnings.append(
            {
                "code": "price_changed",
                "product_id": product_id,
                "old_price": money(line.unit_price),
                "new_price": money(product.price),
            }
        )
    if line.quantity > product.available:
        warnings.append({"code": "insufficient_stock", "product_id": product_id, "available": product.available})
    priced = PricedLine(
        product_id=product.id,
        sku=product.sku,
        name=product.name,
        unit_price=product.price,
        quantity=line.quantity,
        line_total=product.price * line.quantity,
        available=product.available,
    )
    return priced, warnings
