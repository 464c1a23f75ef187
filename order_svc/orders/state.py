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
from shared.transitions import Transitions

TRANSITIONS: Mapping[str, frozenset[str]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.CONFIRMED, OrderStatus.REJECTED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.DELIVERED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}


MACHINE = Transitions(TRANSITIONS, noun="An order", error=IllegalTransition)
check_transition = MACHINE.check  # raises IllegalTransition (409) unless current -> to is allowed
