"""Amounts of money: decimals with two places, carried as decimal strings (``"19.99"``) in events and the API."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> Decimal:
    """``amount`` rounded to two decimal places (the context's rounding: half to even)."""
    return amount.quantize(CENT)


def money(amount: Decimal) -> str:
    """The decimal string events and the API carry, e.g. ``"19.99"``; never an exponent."""
    return format(to_cents(amount), "f")
