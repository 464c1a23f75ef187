"""The payment service's domain errors: the shared :class:`~shared.errors.DomainError` family, named for payments."""

from __future__ import annotations

from shared.errors import Conflict


class IllegalTransition(Conflict):
    """The payment's state machine (payments.state) does not allow the change."""

    code = "illegal-transition"
    title = "Illegal payment transition"


class AmountMismatch(Conflict):
    """The provider answered for another amount than the one authorized; the payment refuses it."""

    code = "amount-mismatch"
    title = "Amount mismatch"
