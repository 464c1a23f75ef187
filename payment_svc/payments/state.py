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
from shared.transitions import Transitions

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


MACHINE = Transitions(TRANSITIONS, noun="A payment", error=IllegalTransition)
check_transition = MACHINE.check  # raises IllegalTransition (409) unless current -> to is allowed
