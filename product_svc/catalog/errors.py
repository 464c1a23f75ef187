"""The catalog's domain errors: the shared :class:`~shared.errors.DomainError` family, with codes of its own."""

from __future__ import annotations

from shared.errors import Conflict, InvalidInput


class CategoryNotFound(InvalidInput):
    """The category a product names does not exist (a 400: it is a field of the body, not the path)."""

    code = "unknown-category"
    title = "Unknown category"


class InvalidPrice(InvalidInput):
    """Not a decimal, out of the column's range, or more than two decimal places."""

    code = "invalid-price"
    title = "Invalid price"


class InvalidCurrency(InvalidInput):
    """Not three capital letters (the ``product_currency_iso`` constraint's rule)."""

    code = "invalid-currency"
    title = "Invalid currency"


class DuplicateSku(Conflict):
    """Another product has this SKU."""

    code = "duplicate-sku"
    title = "Duplicate SKU"


class DuplicateCategory(Conflict):
    """Another category has this slug."""

    code = "duplicate-category"
