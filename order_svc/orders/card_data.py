"""Card details never enter this service: an order names how it is paid with a provider's token only.

A placing request carrying anything that looks like card data is refused whole (400), wherever in
the body it hides (a shipping address is any JSON object), so it is never stored, logged in an
event, or sent on. Card data is a field named like one (``card_number``, ``cvc``, ...) or a text
or integer of 12 to 19 digits (spaces and dashes between them allowed) that passes the Luhn check
every card number passes; the Luhn check keeps most phone and account numbers out of the net.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from orders.errors import CardDataRefused

# Field names (lowercase, ``-`` and spaces read as ``_``) that only card details go by.
CARD_FIELD_NAMES = frozenset(
    {
        "card",
        "card_number",
        "cardnumber",
        "pan",
        "cvc",
        "cvv",
        "cvv2",
        "cvc2",
        "csc",
        "exp_month",
        "exp_year",
        "expiry",
        "expiration",
        "expiration_date",
    }
)
# Card data at the top of the body only: in a shipping address, ``number`` is the house's.
TOP_LEVEL_CARD_FIELD_NAMES = CARD_FIELD_NAMES | {"number"}
CARD_NUMBER_LIKE = re.compile(r"^\d(?:[ -]?\d){11,18}$")
REFUSAL = (
    "Card details are never sent to the shop. Pay with a payment_method token from the payment "
    "provider (e.g. pm_card_visa) instead."
)


def check_no_card_data(data: Any) -> None:
    """Raises :class:`~orders.errors.CardDataRefused` (400) naming every place in ``data`` holding card data."""
    found = {where: [why] for where, why in _card_data(data, path="")}
    if found:
        raise CardDataRefused(REFUSAL, errors=found)


def looks_like_card_number(value: str) -> bool:
    """12 to 19 digits (with spaces or dashes between them) whose Luhn checksum holds."""
    if not CARD_NUMBER_LIKE.match(value):
        return False
    digits = [int(char) for char in value if char.isdigit()]
    checksum = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        checksum += digit
    return checksum % 10 == 0


def _card_data(value: Any, *, path: str) -> Iterator[tuple[str, str]]:
    where = path or "body"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            names = CARD_FIELD_NAMES if path else TOP_LEVEL_CARD_FIELD_NAMES
            if str(key).strip().lower().replace("-", "_").replace(" ", "_") in names:
                yield inner, f"{key!r} is a card detail; this field is not accepted."
            else:
                yield from _card_data(item, path=inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _card_data(item, path=f"{path}.{index}" if path else str(index))
    elif isinstance(value, (str, int)) and not isinstance(value, bool) and looks_like_card_number(str(value)):
        yield where, "This looks like a card number; it is not accepted."
