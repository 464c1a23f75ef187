"""The inventory service's domain errors (the shared :class:`~shared.errors.DomainError` family)."""

from __future__ import annotations

from rest_framework import status

from shared.errors import Conflict, DomainError


class InvalidAdjustment(DomainError):
    """An adjustment no stock could take: a zero delta, a blank reason, a level past the column's range."""

    code = "validation-error"
    title = "Invalid request"


class StockItemNotFound(DomainError):
    status = status.HTTP_404_NOT_FOUND
    code = "not-found"
    title = "Not Found"


class StockBelowReserved(Conflict):
    """The adjustment would leave less on hand than is reserved for orders (or less than nothing)."""

    code = "stock-below-reserved"
    title = "Stock below reserved"
