"""The order service's domain errors (the shared :class:`~shared.errors.DomainError` family)."""

from __future__ import annotations

from rest_framework import status

from shared.errors import Conflict, DomainError


class InvalidOrder(DomainError):
    """The request breaks a rule of orders (a header, a product that cannot be sold, mixed currencies)."""

    code = "validation-error"
    title = "Invalid request"


class IllegalTransition(Conflict):
    """The state machine (:mod:`orders.state`) does not allow this status change."""

    code = "illegal-transition"
    title = "Illegal status transition"


class IdempotencyKeyReused(Conflict):
    """The ``Idempotency-Key`` was first used with a different request body."""

    code = "idempotency-key-reused"
    title = "Idempotency key reused"


class CustomerInactive(DomainError):
    """The customer's account was deactivated (as the projection of user events says)."""

    status = status.HTTP_403_FORBIDDEN
    code = "customer-inactive"
    title = "Forbidden"


class ProductServiceUnavailable(DomainError):
    """The product service did not answer in time, so no price could be taken; the client may retry."""

    status = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "product-service-unavailable"
    title = "Service unavailable"


class ProductServiceFailed(DomainError):
    """The product service answered with an error or a malformed product."""

    status = status.HTTP_502_BAD_GATEWAY
    code = "product-service-failed"
    title = "Bad gateway"
