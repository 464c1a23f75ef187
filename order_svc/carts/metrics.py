"""Business metrics of carts, counted once the change has committed (``transaction.on_commit``); failed
checkouts are counted as they are refused (nothing of theirs commits)."""

from __future__ import annotations

from django.db import transaction
from prometheus_client import Counter

# Why a checkout was refused: the code of its problem answer (``type`` ends with it).
CHECKOUT_FAILURE_REASONS: tuple[str, ...] = (
    "cart-empty",
    "cart-changed",
    "validation-error",
    "customer-inactive",
    "idempotency-key-reused",
    "product-service-unavailable",
    "product-service-failed",
    "conflict",
)
CART_LINE_EVENTS: tuple[str, ...] = ("added", "removed")

CARTS_CHECKED_OUT = Counter(
    "shop_carts_checked_out", "Carts checked out into a new order (a retried checkout is not counted again)."
)
CART_LINES = Counter(
    "shop_cart_lines",
    "Cart lines added (a product new to the cart, by the customer or a merge) and removed by the customer "
    "(quantity 0, the line or the whole cart deleted); a checkout's lines become an order's and are not counted.",
    ["event"],
)
CHECKOUT_FAILURES = Counter(
    "shop_cart_checkout_failures",
    "Checkouts refused, by reason: the problem's code (cart-empty, cart-changed, validation-error, ...).",
    ["reason"],
)
for _event in CART_LINE_EVENTS:
    CART_LINES.labels(_event)  # every series exists from the start, at zero
for _reason in CHECKOUT_FAILURE_REASONS:
    CHECKOUT_FAILURES.labels(_reason)


def count_lines_on_commit(*, event: str, lines: int) -> None:
    """Counts ``lines`` cart lines ``added`` or ``removed`` once the caller's transaction commits."""
    if lines:
        transaction.on_commit(lambda: CART_LINES.labels(event).inc(lines))


def count_checked_out_on_commit() -> None:
    transaction.on_commit(CARTS_CHECKED_OUT.inc)


def count_checkout_failed(*, reason: str) -> None:
    CHECKOUT_FAILURES.labels(reason).inc()
