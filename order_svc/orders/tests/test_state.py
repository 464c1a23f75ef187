"""The one state machine: which status may follow which."""

import pytest

from orders.errors import IllegalTransition
from orders.models import OrderStatus
from orders.state import MACHINE, TRANSITIONS, check_transition

ALLOWED = {
    ("pending", "confirmed"),
    ("pending", "rejected"),
    ("pending", "cancelled"),
    ("confirmed", "shipped"),
    ("confirmed", "cancelled"),
    ("shipped", "delivered"),
    ("delivered", "refunded"),
}


def test_the_machine_allows_exactly_the_documented_transitions():
    assert {(current, to) for current, targets in TRANSITIONS.items() for to in targets} == ALLOWED


def test_every_status_has_an_entry():
    assert set(TRANSITIONS) == set(OrderStatus.values)


@pytest.mark.parametrize("current", OrderStatus.values)
@pytest.mark.parametrize("to", OrderStatus.values)
def test_can_transition_agrees_with_the_table(current, to):
    assert MACHINE.can(current=current, to=to) is ((current, to) in ALLOWED)


def test_an_illegal_transition_is_a_409_saying_what_is_possible():
    with pytest.raises(IllegalTransition) as error:
        check_transition(current="confirmed", to="delivered")

    assert error.value.status == 409
    assert error.value.detail == (
        "An order that is confirmed cannot become delivered; from confirmed it can only become cancelled or shipped."
    )


def test_leaving_a_final_status_says_it_is_final():
    with pytest.raises(IllegalTransition) as error:
        check_transition(current="refunded", to="cancelled")

    assert error.value.detail == "An order that is refunded cannot become cancelled; refunded is final."
