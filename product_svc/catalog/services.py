"""Writes to the catalog. Each product change and the event announcing it commit in one transaction (the outbox)."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction
from psycopg import errors as pg_errors

from catalog.errors import CategoryNotFound, DuplicateCategory, DuplicateSku, InvalidCurrency, InvalidPrice
from catalog.models import Category, Product
from shared.events import Envelope, publish
from shared.money import CENT, money, to_cents

logger = logging.getLogger(__name__)

PRICE_LIMIT = Decimal("10000000000")  # max_digits=12 with 2 decimals: ten integer digits at most
CURRENCY = re.compile(r"^[A-Z]{3}$")  # the same rule as the product_currency_iso constraint


class ProductChanges(TypedDict, total=False):
    """What :func:`product_update` may change; ``category_slug`` ``None`` removes the category."""

    sku: str
    name: str
    description: str
    price: Decimal
    currency: str
    category_slug: str | None
    is_active: bool


def category_create(*, slug: str, name: str) -> Category:
    """A new category; 409 when the slug is taken."""
    try:
        with transaction.atomic():
            return Category.objects.create(slug=slug, name=name)
    except IntegrityError:
        raise DuplicateCategory(f"A category with slug {slug!r} already exists.") from None


def category_ensure(*, slug: str, name: str) -> Category:
    """The category ``slug``, created with ``name`` if absent (demo data, idempotent)."""
    category, _ = Category.objects.get_or_create(slug=slug, defaults={"name": name})
    return category


def product_create(
    *,
    sku: str,
    name: str,
    price: Decimal,
    currency: str = "USD",
    description: str = "",
    category_slug: str | None = None,
) -> Product:
    """Adds a product and publishes ``product.created`` (inventory creates its stock row from it).

    Raises :class:`InvalidPrice`, :class:`InvalidCurrency` or :class:`CategoryNotFound` before
    writing anything, and :class:`DuplicateSku` when the SKU is taken (the unique index decides,
    so concurrent creations cannot both succeed; nothing is written then either).
    """
    price = _checked_price(price)
    currency = _checked_currency(currency)
    category = _category(category_slug)
    with _refusing_duplicate_sku(sku), transaction.atomic():
        product = Product.objects.create(
            sku=sku, name=name, description=description, price=price, currency=currency, category=category
        )
        publish(Envelope(type="product.created", key=str(product.id), payload=_product_payload(product)))
    return product


def product_update(*, product: Product, **changes: Unpack[ProductChanges]) -> Product:
    """Applies ``changes`` to ``product`` and publishes ``product.updated``; returns the product as stored.

    The row is re-read under ``select_for_update``, so concurrent updates apply one
    after the other and each event carries the state it produced. Changes that
    leave every field as it was write nothing and publish nothing. Invalid values
    raise as in :func:`product_create`; a SKU another product has raises :class:`DuplicateSku`.
    """
    unknown = set(changes) - ProductChanges.__optional_keys__
    if unknown:
        raise TypeError(f"product_update() got unexpected changes: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = dict(changes)
    if "price" in values:
        values["price"] = _checked_price(values["price"])
    if "currency" in values:
        values["currency"] = _checked_currency(values["currency"])
    if "category_slug" in values:
        values["category"] = _category(values.pop("category_slug"))
    with _refusing_duplicate_sku(values.get("sku", product.sku)), transaction.atomic():
        stored = Product.objects.select_for_update(of=("self",)).select_related("category").get(pk=product.pk)
        changed = [field for field, value in values.items() if getattr(stored, field) != value]
        if not changed:
            return stored
        for field in changed:
            setattr(stored, field, values[field])
        stored.save(update_fields=[*changed, "updated_at"])
        publish(Envelope(type="product.updated", key=str(stored.id), payload=_product_payload(stored)))
    return stored


def product_delete(*, product: Product) -> Product:
    """Soft-deletes ``product`` (inactive, kept for order history) and publishes ``product.deleted``.

    Deleting an inactive product changes nothing and publishes nothing.
    """
    with transaction.atomic():
        stored = Product.objects.select_for_update().get(pk=product.pk)
        if not stored.is_active:
            return stored
        stored.is_active = False
        stored.save(update_fields=["is_active", "updated_at"])
        publish(
            Envelope(
                type="product.deleted", key=str(stored.id), payload={"product_id": str(stored.id), "sku": stored.sku}
            )
        )
    return stored


def product_apply_stock(*, product_id: uuid.UUID, available: int, stock_version: int) -> bool:
    """Records inventory's ``available`` for the product if ``stock_version`` is newer than the one stored.

    One conditional UPDATE: events of one product may arrive late or twice, and concurrent
    consumers may race, but the row only ever moves forward to a higher version. Returns
    whether it changed; an unknown product is logged and left alone (its event may precede
    the product here, or name one that never was). ``updated_at`` is not touched: it dates the
    product's own details, not its stock.
    """
    applied = Product.objects.filter(pk=product_id, stock_version__lt=stock_version).update(
        available=available, stock_version=stock_version
    )
    if applied:
        return True
    if Product.objects.filter(pk=product_id).exists():
        logger.info(  # stale or repeated: an older event arrived after a newer one
            "stock version %s of product %s is not newer than the stored one; ignored", stock_version, product_id
        )
    else:
        logger.warning("stock for unknown product %s (version %s); ignored", product_id, stock_version)
    return False


@contextmanager
def _refusing_duplicate_sku(sku: str) -> Iterator[None]:
    """Turns the unique index's refusal of ``sku`` into :class:`DuplicateSku`.

    Wraps the ``transaction.atomic()`` block, so that block has rolled back (its savepoint,
    inside a caller's transaction) before the error leaves.
    """
    try:
        yield
    except IntegrityError as exc:
        if isinstance(exc.__cause__, pg_errors.UniqueViolation):
            raise DuplicateSku(f"Another product has the SKU {sku!r}; SKUs are unique.") from exc
        raise


def _checked_currency(currency: str) -> str:
    if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
        raise InvalidCurrency(
            f"A currency is an ISO 4217 code in capitals such as USD, not {currency!r}.",
            errors={"currency": ["Not an ISO 4217 code in capitals."]},
        )
    return currency


def _checked_price(price: Decimal) -> Decimal:
    if not isinstance(price, Decimal) or not price.is_finite():
        raise InvalidPrice(f"A price must be a decimal amount, not {price!r}.", errors={"price": ["Not a decimal."]})
    if price < 0 or price >= PRICE_LIMIT:
        raise InvalidPrice(f"A price must be between 0 and {PRICE_LIMIT - CENT}.", errors={"price": ["Out of range."]})
    if price != to_cents(price):
        raise InvalidPrice("A price has at most two decimal places.", errors={"price": ["Too many decimals."]})
    return to_cents(price)


def _category(slug: str | None) -> Category | None:
    if slug is None:
        return None
    category = Category.objects.filter(slug=slug).first()
    if category is None:
        raise CategoryNotFound(f"There is no category {slug!r}.", errors={"category": ["Unknown category."]})
    return category


def _product_payload(product: Product) -> dict[str, object]:
    return {
        "product_id": str(product.id),
        "sku": product.sku,
        "name": product.name,
        "price": money(product.price),
        "currency": product.currency,
        "category": product.category.slug if product.category is not None else None,
        "is_active": product.is_active,
    }
