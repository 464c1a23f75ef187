"""The one state machine of a payment. Every status change is checked here (by ``payment_transition``).

::

    requires_authorization -> authorized | failed | voided
    authorized -> captured | voided
    captured -> refunded

``refunded``, ``voided`` and ``failed`` are final. ``requires_authorization -> voided`` is an order
cancelled before its payment was authorized: nothing was held, and nothing will be.
"""

from __future__ import annotations

from collections.abc import Mapping

from payments.errors import IllegalTransition
from payments.models import PaymentStatus

TRANSITIONS: Mapping[str, frozenset[str]] = {
    PaymentStatus.REQUIRES_AUTHORIZATION: frozenset(
        {PaymentStatus.AUTHORIZED, PaymentStatus.FAILED, PaymentStatus.VOIDED}
    ),
    PaymentStatus.AUTHORIZED: frozenset({PaymentStatus.CAPTURED, PaymentStatus.VOIDED}),
    PaymentStatus.CAPTURED: frozenset({PaymentStatus.REFUNDED}),
    PaymentStatus.REFUNDED: frozenset(),
    PaymentStatus.VOIDED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
}


def allowed_next(status: str) -> frozenset[str]:
    """The statuses a payment in ``status`` may move to (none for a final status)."""
    return TRANSITIONS.get(status, frozenset())


def can_transition(*, current: str, to: str) -> bool:
    return to in allowed_next(current)


def check_transition(*, current: str, to: str) -> None:
    """Raises :class:`~payments.errors.IllegalTransition` unless ``current -> to`` is allowed."""
    if can_transition(current=current, to=to):
        return
    options = sorted(allowed_next(current))
    then = f"from {current} it can only become {' or '.join(options)}" if options else f"{current} is final"
    raise IllegalTransition(f"A payment that is {current} cannot become {to}; {then}.")
