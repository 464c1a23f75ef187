"""Writes to carts. Every change of a cart holds its row's lock (:func:`_lock_cart`) for its transaction.

Two tabs editing one cart therefore take turns: neither change is lost, and the unique
``(cart, product)`` constraint is the backstop against a duplicate line. Products are looked up in
the catalog (one batch ``GetProducts`` call) before the transaction opens, so no lock is held while
waiting on the network. Checking out places the order through :func:`orders.services.order_place`,
the one placement rule, which empties the cart in its own transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from orders.models import MAX_LINES, MAX_QUANTITY
from orders.products import CatalogProduct, products_get
from orders.services import LineRequest, Placement, order_place

from carts.errors import CartChanged, CartCurrencyMismatch, CartEmpty, CartFull
from carts.metrics import count_checked_out_on_commit, count_checkout_failed, count_lines_on_commit
from carts.models import Cart, CartLine
from shared.errors import DomainError, NotFound

logger = logging.getLogger(__name__)


def cart_set_quantity(*, customer_id: uuid.UUID, product_id: uuid.UUID, quantity: int) -> None:
    """Sets how many of ``product_id`` the cart holds (1 to 1000); 0 removes the line.

    A product new to the cart must be sold now (else :class:`~shared.errors.NotFound`, 404), in the
    currency of the cart's other lines (else :class:`~carts.errors.CartCurrencyMismatch`, 409), and
    fit in the cart's 50 lines (else :class:`~carts.errors.CartFull`, 409); nothing changes then.
    The line keeps the price it was first added at, for the cart to warn when the catalog's changes.
    """
    if quantity == 0:
        cart_remove_line(customer_id=customer_id, product_id=product_id)
        return
    product = _sellable_product(product_id)
    with transaction.atomic():
        cart = _lock_cart(customer_id)
        line = cart.lines.filter(product_id=product_id).first()
        if line is not None:
            line.quantity = quantity
            line.save(update_fields=["quantity"])
            return
        _check_room(cart, adding=[product])
        CartLine.objects.create(cart=cart, quantity=quantity, **_snapshot(product))
        count_lines_on_commit(event="added", lines=1)


def cart_remove_line(*, customer_id: uuid.UUID, product_id: uuid.UUID) -> None:
    """Removes the product's line from the cart; a product not in the cart (or no cart) changes nothing."""
    with transaction.atomic():
        cart = Cart.objects.select_for_update().filter(pk=customer_id).first()
        if cart is None:
            return
        removed, _ = cart.lines.filter(product_id=product_id).delete()
        if removed:
            cart.save(update_fields=["updated_at"])
            count_lines_on_commit(event="removed", lines=removed)


def cart_clear(*, customer_id: uuid.UUID) -> None:
    """Deletes the cart and its lines; no cart changes nothing."""
    with transaction.atomic():
        cart = Cart.objects.select_for_update().filter(pk=customer_id).first()
        if cart is None:
            return
        lines = cart.lines.count()
        cart.delete()
        count_lines_on_commit(event="removed", lines=lines)


def cart_merge(*, customer_id: uuid.UUID, items: Sequence[LineRequest]) -> list[uuid.UUID]:
    """Adds a guest's cart (kept by the storefront until sign-in) to the customer's; returns what it skipped.

    A product already in the cart gets the quantities added up (at most 1000); a new one becomes a
    line at today's price. Products the catalog does not sell (unknown or inactive) are skipped and
    returned, for the answer to say so. All or nothing: when the new lines would make the cart longer
    than 50 lines (:class:`~carts.errors.CartFull`) or mix currencies
    (:class:`~carts.errors.CartCurrencyMismatch`), nothing changes. ``items`` name each product once.
    """
    catalog = products_get(ids=[item.product_id for item in items])
    sellable = {item.product_id: item for item in items if _is_sellable(catalog.found.get(item.product_id))}
    skipped = [item.product_id for item in items if item.product_id not in sellable]
    with transaction.atomic():
        cart = _lock_cart(customer_id)
        existing = {line.product_id: line for line in cart.lines.all()}
        new = [catalog.found[product_id] for product_id in sellable if product_id not in existing]
        _check_room(cart, adding=new)
        for product_id, line in existing.items():
            if product_id in sellable:
                line.quantity = min(line.quantity + sellable[product_id].quantity, MAX_QUANTITY)
                line.save(update_fields=["quantity"])
        CartLine.objects.bulk_create(
            [CartLine(cart=cart, quantity=sellable[product.id].quantity, **_snapshot(product)) for product in new]
        )
        count_lines_on_commit(event="added", lines=len(new))
    return skipped


def cart_checkout(
    *,
    customer_id: uuid.UUID,
    idempotency_key: str,
    payment_method: str,
    shipping_address: dict[str, Any] | None = None,
) -> Placement:
    """Places the cart's lines as an order (:func:`~orders.services.order_place`) and empties the cart with it.

    Everything placing an order directly does, this does: the same pricing at this moment, checks,
    event and ``Idempotency-Key`` rules. The key stands for this checkout (payment method and
    address; the lines are the cart's): repeated after success it returns the same order
    (``created=False``) although the cart is empty now. An empty cart raises
    :class:`~carts.errors.CartEmpty` (409); a cart changed by another tab between pricing and
    placing raises :class:`~carts.errors.CartChanged` (409), and nothing is placed. Every refusal is
    counted by its code (``shop_cart_checkout_failures_total``).
    """
    try:
        return order_place(
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            lines=_CartLines(customer_id),
            payment_method=payment_method,
            shipping_address=shipping_address,
        )
    except DomainError as exc:
        count_checkout_failed(reason=exc.code)
        raise


def cart_delete_stale(*, older_than: timedelta, limit: int = 500) -> int:
    """Deletes up to ``limit`` carts untouched for ``older_than``, with their lines; returns how many.

    Run by the order service's periodic sweep (:mod:`orders.tasks`). A cart locked right now (being
    changed, or taken by another sweep) is skipped (``FOR UPDATE SKIP LOCKED``), never waited for.
    """
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        stale = list(
            Cart.objects.select_for_update(skip_locked=True)
            .filter(updated_at__lt=cutoff)
            .order_by("updated_at")
            .values_list("pk", flat=True)[:limit]
        )
        if stale:
            Cart.objects.filter(pk__in=stale).delete()
    if stale:
        logger.info("deleted %s cart(s) untouched for over %s", len(stale), older_than)
    return len(stale)


@dataclass(frozen=True)
class _CartLines:
    """The customer's cart as the lines of an order (:class:`orders.services.LineSource`)."""

    customer_id: uuid.UUID
    name: str = "cart"

    def lines(self) -> Sequence[LineRequest]:
        lines = [
            LineRequest(product_id=product_id, quantity=quantity)
            for product_id, quantity in CartLine.objects.filter(cart_id=self.customer_id)
            .order_by("added_at", "id")
            .values_list("product_id", "quantity")
        ]
        if not lines:
            raise CartEmpty("The cart is empty: add products to it before checking out.")
        return lines

    def consume(self, lines: Sequence[LineRequest]) -> None:
        """Empties the cart if it still holds exactly ``lines``; else CartChanged rolls the placement back."""
        cart = Cart.objects.select_for_update().filter(pk=self.customer_id).first()
        now = {} if cart is None else dict(cart.lines.values_list("product_id", "quantity"))
        if cart is None or now != {line.product_id: line.quantity for line in lines}:
            raise CartChanged(
                "The cart changed while it was being checked out, so nothing was ordered; check it and retry."
            )
        cart.delete()
        count_checked_out_on_commit()


def _lock_cart(customer_id: uuid.UUID) -> Cart:
    """The customer's cart, created if need be, locked until the caller's transaction ends; marks it touched.

    One statement (``INSERT ... ON CONFLICT DO UPDATE``) creates or locks the row, so two first
    changes of a cart cannot both create it, and a cart the sweep deletes meanwhile is created again.
    """
    [cart] = Cart.objects.bulk_create(
        [Cart(customer_id=customer_id)],
        update_conflicts=True,
        unique_fields=["customer_id"],
        update_fields=["updated_at"],
    )
    return cart


def _check_room(cart: Cart, *, adding: Sequence[CatalogProduct]) -> None:
    """Raises unless ``adding`` (products new to the locked ``cart``) fit in its lines and share its currency."""
    if not adding:
        return
    lines = cart.lines.count()
    if lines + len(adding) > MAX_LINES:
        raise CartFull(
            f"A cart holds at most {MAX_LINES} products and this one has {lines}; remove some, or check out first."
        )
    currencies = set(cart.lines.values_list("currency", flat=True)) | {product.currency for product in adding}
    if len(currencies) > 1:
        found = ", ".join(sorted(currencies))
        raise CartCurrencyMismatch(f"An order is paid in one currency, and these products are in {found}.")


def _sellable_product(product_id: uuid.UUID) -> CatalogProduct:
    product = products_get(ids=[product_id]).found.get(product_id)
    if product is None:
        raise NotFound(f"No product has the id {product_id}.")
    if not product.is_active:
        raise NotFound(f"Product {product_id} ({product.sku}) is no longer sold.")
    return product


def _is_sellable(product: CatalogProduct | None) -> bool:
    return product is not None and product.is_active


def _snapshot(product: CatalogProduct) -> dict[str, Any]:
    """A new line's fields from the catalog: the product, and how it was named and priced when added."""
    return {
        "product_id": product.id,
        "sku": product.sku,
        "name": product.name,
        "unit_price": product.price,
        "currency": product.currency,
    }
