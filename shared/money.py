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


def to_minor_units(amount: Decimal) -> int:
    """``amount`` in cents, as payment providers take it (``Decimal("19.99")`` -> ``1999``).

    A fraction of a cent is refused (ValueError), never rounded away."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(cents)


def from_minor_units(cents: int) -> Decimal:
    """The amount ``cents`` stands for (``1999`` -> ``Decimal("19.99")``)."""
    return to_cents(Decimal(cents) / 100)
