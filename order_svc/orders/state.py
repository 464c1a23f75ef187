"""The one state machine of an order. Every status change is checked here (by ``order_transition``).

::

    pending -> confirmed | rejected | cancelled
    confirmed -> shipped | cancelled
    shipped -> delivered
    delivered -> refunded

A pending order is confirmed when its payment is authorized (its stock is reserved before that),
and rejected when the stock is short or the payment fails. ``rejected``, ``cancelled`` and
``refunded`` are final; a delivered order becomes refunded only when the payment service refunded it.
"""

from __future__ import annotations

from collections.abc import Mapping

from orders.errors import IllegalTransition
from orders.models import OrderStatus

TRANSITIONS: Mapping[str, frozenset[str]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.CONFIRMED, OrderStatus.REJECTED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.DELIVERED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}


def allowed_next(status: str) -> frozenset[str]:
    """The statuses an order in ``status`` may move to (none for a final status)."""
    return TRANSITIONS.get(status, frozenset())


def can_transition(*, current: str, to: str) -> bool:
    return to in allowed_next(current)


def check_transition(*, current: str, to: str) -> None:
    """Raises :class:`~orders.errors.IllegalTransition` (409) unless ``current -> to`` is allowed."""
    if can_transition(current=current, to=to):
        return
    options = sorted(allowed_next(current))
    then = f"from {current} it can only become {' or '.join(options)}" if options else f"{current} is final"
    raise IllegalTransition(f"An order that is {current} cannot become {to}; {then}.")
