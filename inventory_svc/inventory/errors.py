"""The inventory service's domain errors: the shared :class:`~shared.errors.DomainError` family, named for stock."""

from __future__ import annotations

from shared.errors import Conflict, InvalidInput, NotFound


class InvalidAdjustment(InvalidInput):
    """An adjustment no stock could take: a zero delta, a blank reason, a level past the column's range."""


class StockItemNotFound(NotFound):
    """No stock is kept for the product."""


class StockBelowReserved(Conflict):
    """The adjustment would leave less on hand than is reserved for orders (or less than nothing)."""

    code = "stock-below-reserved"
    title = "Stock below reserved"
