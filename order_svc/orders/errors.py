"""The order service's domain errors: the shared :class:`~shared.errors.DomainError` family, with codes of its own."""

from __future__ import annotations

from shared.errors import BadGateway, Conflict, Forbidden, InvalidInput, ServiceUnavailable


class InvalidOrder(InvalidInput):
    """The request breaks a rule of orders (a header, a product that cannot be sold, mixed currencies)."""


class CardDataRefused(InvalidInput):
    """The request carries card details; orders take a payment provider's token only (:mod:`orders.card_data`)."""

    code = "card-data-refused"
    title = "Card details are not accepted"


class IllegalTransition(Conflict):
    """The state machine (:mod:`orders.state`) does not allow this status change."""

    code = "illegal-transition"
    title = "Illegal status transition"


class IdempotencyKeyReused(Conflict):
    """The ``Idempotency-Key`` was first used with a different request body."""

    code = "idempotency-key-reused"
    title = "Idempotency key reused"


class CustomerInactive(Forbidden):
    """The customer's account was deactivated (as the projection of user events says)."""

    code = "customer-inactive"


class ProductServiceUnavailable(ServiceUnavailable):
    """The product service did not answer in time, so no price could be taken; the client may retry."""

    code = "product-service-unavailable"


class ProductServiceFailed(BadGateway):
    """The product service answered with an error or a malformed product."""

    code = "product-service-failed"
