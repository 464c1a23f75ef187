"""The cart's domain errors: the shared :class:`~shared.errors.DomainError` family, with codes of its own."""

from __future__ import annotations

from shared.errors import Conflict


class CartFull(Conflict):
    """Another product would make the cart longer than an order may be (50 lines)."""

    code = "cart-full"
    title = "Cart full"


class CartEmpty(Conflict):
    """Checking out a cart without lines."""

    code = "cart-empty"
    title = "Cart empty"


class CartChanged(Conflict):
    """The cart changed (another tab) while it was being checked out; nothing was placed."""

    code = "cart-changed"
    title = "Cart changed during checkout"


class CartCurrencyMismatch(Conflict):
    """The product is sold in another currency than the cart's lines; an order is paid in one currency."""

    code = "cart-currency-mismatch"
    title = "Cart currency mismatch"
