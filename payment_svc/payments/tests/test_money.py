"""Money in payment is Decimal end to end: minor units (int) only at the provider boundary, never a float."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from shared.money import from_minor_units, to_minor_units

PAYMENT_SVC = Path(__file__).resolve().parents[2]
FLOAT_CALL = re.compile(r"(?<![\w.])float\(")


def test_no_float_anywhere_in_the_payment_code():
    found = [
        f"{path.relative_to(PAYMENT_SVC)}:{number}"
        for path in sorted(PAYMENT_SVC.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if FLOAT_CALL.search(line) and path != Path(__file__).resolve()
    ]
    assert not found, f"float() in payment code: {found}"


def test_the_search_finds_a_float():
    assert FLOAT_CALL.search("amount = float(total)")
    assert not FLOAT_CALL.search("env_float(x)")


@pytest.mark.parametrize(("amount", "cents"), [("19.99", 1999), ("0.01", 1), ("1000.00", 100000), ("12.3", 1230)])
def test_minor_units_round_trip(amount, cents):
    assert to_minor_units(Decimal(amount)) == cents
    assert from_minor_units(cents) == Decimal(amount)


def test_a_fraction_of_a_cent_is_refused():
    with pytest.raises(ValueError, match="not a whole number of cents"):
        to_minor_units(Decimal("0.005"))
