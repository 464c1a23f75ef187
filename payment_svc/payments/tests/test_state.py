"""The one state machine of a payment (payments.state)."""

import pytest

from payments.errors import IllegalTransition
from payments.models import PaymentStatus as S
from payments.state import MACHINE, TRANSITIONS, check_transition

ALLOWED = {
    (S.REQUIRES_AUTHORIZATION, S.AUTHORIZED),
    (S.REQUIRES_AUTHORIZATION, S.FAILED),
    (S.REQUIRES_AUTHORIZATION, S.VOIDED),
    (S.AUTHORIZED, S.CAPTURED),
    (S.AUTHORIZED, S.VOIDED),
    (S.CAPTURED, S.REFUNDED),
}


def test_every_status_has_its_transitions():
    assert set(TRANSITIONS) == set(S.values)


@pytest.mark.parametrize("current", S.values)
@pytest.mark.parametrize("to", S.values)
def test_exactly_the_documented_transitions_are_allowed(current, to):
    assert MACHINE.can(current=current, to=to) == ((current, to) in ALLOWED)


@pytest.mark.parametrize("final", [S.REFUNDED, S.VOIDED, S.FAILED])
def test_final_statuses_go_nowhere(final):
    assert MACHINE.allowed_next(final) == frozenset()
    with pytest.raises(IllegalTransition, match=f"{final} is final"):
        check_transition(current=final, to=S.AUTHORIZED)


def test_a_refused_transition_says_what_is_possible():
    with pytest.raises(
        IllegalTransition, match="captured cannot become voided; from captured it can only become refunded"
    ):
        check_transition(current=S.CAPTURED, to=S.VOIDED)
