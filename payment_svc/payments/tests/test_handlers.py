"""The saga's events drive the payment: authorize after the stock is reserved, capture, void, refund.

Each test applies events as the consumer does and runs the provider call their commit triggers
(``apply_committed``); the sandbox provider's own record proves what was charged.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from payments.models import Payment, PaymentStatus, SandboxCharge, Step
from payments.providers.base import ProviderPayment, ProviderTimeout
from payments.providers.sandbox import SandboxProvider, authorizations_for
from payments.services import call_with_retries, payment_advance, payment_retry_pending
from payments.tests.factories import (
    inventory_reserved,
    order_cancelled,
    order_placed,
    order_refund_requested,
    order_rejected,
    order_shipped,
)
from payments.tests.helpers import apply, apply_committed
from shared.consumer import Outcome
from shared.testing.outbox import payloads, published, published_types

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_backoff")]


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr("payments.services.time.sleep", lambda seconds: None)


_commits = []


@pytest.fixture(autouse=True)
def commits(django_capture_on_commit_callbacks):
    """What :func:`run` runs commit callbacks with (the test's transaction never commits)."""
    _commits[:] = [django_capture_on_commit_callbacks]


def run(*envelopes):
    """Applies the envelopes as the consumer does, each followed by the provider call its commit triggers."""
    return apply_committed(_commits[0], *envelopes)


def payment_of(order_id) -> Payment:
    return Payment.objects.get(order_id=order_id)


def history(order_id) -> list[str]:
    return list(payment_of(order_id).history.values_list("status", flat=True))


def test_placed_then_reserved_authorizes_the_order_total():
    order_id = uuid.uuid4()
    run(order_placed(order_id, total=Decimal("19.99"), currency="EUR"), inventory_reserved(order_id))

    payment = payment_of(order_id)
    assert (payment.status, payment.amount, payment.currency) == ("authorized", Decimal("19.99"), "EUR")
    assert (payment.provider, payment.attempts, payment.pending_step) == ("sandbox", 1, "")
    assert payloads("payment.authorized") == [
        {"order_id": str(order_id), "amount": "19.99", "currency": "EUR", "provider": "sandbox"}
    ]
    charge = SandboxCharge.objects.get(reference=str(order_id))
    assert (charge.idempotency_key, charge.amount_minor, charge.currency) == (f"{order_id}:authorize", 1999, "eur")
    assert history(order_id) == ["requires_authorization", "authorized"]


def test_placed_alone_does_not_authorize():
    order_id = uuid.uuid4()
    run(order_placed(order_id))
    assert payment_of(order_id).status == "requires_authorization"
    assert authorizations_for(str(order_id)) == 0
    assert published_types() == []


def test_reserved_before_placed_waits_for_the_snapshot():
    order_id = uuid.uuid4()
    run(inventory_reserved(order_id))
    assert payment_of(order_id).status == "requires_authorization"
    assert payment_of(order_id).amount is None

    run(order_placed(order_id, total=Decimal("7.50")))
    assert payment_of(order_id).status == "authorized"
    assert payloads("payment.authorized")[0]["amount"] == "7.50"


def test_a_redelivered_inventory_reserved_authorizes_once():
    order_id = uuid.uuid4()
    reserved = inventory_reserved(order_id)
    outcomes = run(order_placed(order_id), reserved, reserved, inventory_reserved(order_id))

    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED, Outcome.DUPLICATE, Outcome.APPLIED]
    assert authorizations_for(str(order_id)) == 1
    assert published_types() == ["payment.authorized"]
    assert payment_of(order_id).attempts == 1


def test_a_crash_between_the_call_and_its_record_charges_once(monkeypatch):
    """The provider answered, the process died before recording it: the retry gets the first answer."""
    order_id = uuid.uuid4()
    apply(order_placed(order_id))
    apply(inventory_reserved(order_id))  # commit callbacks not run: the consumer "died" after its commit
    assert payment_of(order_id).pending_step == Step.AUTHORIZE

    def crash(payment, step, answer, **recorded):
        raise SystemExit("killed")

    monkeypatch.setattr("payments.services._record", crash)
    with pytest.raises(SystemExit):
        payment_advance(order_id=order_id)  # the provider authorized; nothing recorded
    monkeypatch.undo()
    monkeypatch.setattr("payments.services.time.sleep", lambda seconds: None)
    assert authorizations_for(str(order_id)) == 1
    assert payment_of(order_id).status == "requires_authorization"

    Payment.objects.filter(order_id=order_id).update(
        step_requested_at=payment_of(order_id).created_at - timedelta(minutes=1)
    )
    assert payment_retry_pending(older_than=timedelta(seconds=5)) == 1

    assert payment_of(order_id).status == "authorized"
    assert authorizations_for(str(order_id)) == 1
    assert SandboxCharge.objects.get(reference=str(order_id)).calls == 2
    assert published_types() == ["payment.authorized"]


@pytest.mark.parametrize(
    ("method", "reason"),
    [("pm_card_chargeDeclined", "card_declined"), ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")],
)
def test_a_declined_card_fails_the_payment_with_its_reason(method, reason):
    order_id = uuid.uuid4()
    run(order_placed(order_id, payment_method=method), inventory_reserved(order_id))

    payment = payment_of(order_id)
    assert (payment.status, payment.failure_reason, payment.attempts) == ("failed", reason, 1)
    assert payloads("payment.failed") == [{"order_id": str(order_id), "reason": reason}]
    assert authorizations_for(str(order_id)) == 0


def test_a_provider_timing_out_is_retried_then_fails_as_unavailable():
    order_id = uuid.uuid4()
    with override_settings(PAYMENT_PROVIDER_ATTEMPTS=3):
        run(order_placed(order_id, payment_method="pm_card_timeout"), inventory_reserved(order_id))

    payment = payment_of(order_id)
    assert (payment.status, payment.failure_reason, payment.attempts) == ("failed", "provider unavailable", 3)
    assert payloads("payment.failed") == [{"order_id": str(order_id), "reason": "provider unavailable"}]
    assert SandboxCharge.objects.get(reference=str(order_id)).calls == 3


def test_a_flaky_provider_is_retried_and_charges_once():
    order_id = uuid.uuid4()
    run(order_placed(order_id, payment_method="pm_card_flaky"), inventory_reserved(order_id))

    payment = payment_of(order_id)
    assert (payment.status, payment.attempts) == ("authorized", 2)
    assert authorizations_for(str(order_id)) == 1


def test_retries_back_off(monkeypatch):
    pauses = []
    monkeypatch.setattr("payments.services.time.sleep", pauses.append)

    def times_out():
        raise ProviderTimeout("no answer")

    with override_settings(PAYMENT_PROVIDER_ATTEMPTS=3, PAYMENT_PROVIDER_BACKOFF_MS=200):
        answer = call_with_retries(times_out)
    assert (answer.unavailable, answer.attempts) == (True, 3)
    assert pauses == [0.2, 0.4]


def test_shipped_captures_and_refund_requested_refunds():
    order_id = uuid.uuid4()
    run(order_placed(order_id, total=Decimal("30.00")), inventory_reserved(order_id), order_shipped(order_id))
    assert payment_of(order_id).status == "captured"
    assert payloads("payment.captured") == [{"order_id": str(order_id), "amount": "30.00", "currency": "USD"}]

    run(order_refund_requested(order_id))
    assert payment_of(order_id).status == "refunded"
    assert payloads("payment.refunded") == [{"order_id": str(order_id), "amount": "30.00", "currency": "USD"}]
    assert history(order_id) == ["requires_authorization", "authorized", "captured", "refunded"]
    keys = set(
        SandboxCharge.objects.filter(provider_id=payment_of(order_id).provider_id).values_list(
            "idempotency_key", flat=True
        )
    )
    assert keys == {f"{order_id}:authorize", f"{order_id}:capture", f"{order_id}:refund"}


def test_cancelling_an_authorized_order_voids_it():
    order_id = uuid.uuid4()
    run(order_placed(order_id), inventory_reserved(order_id), order_cancelled(order_id))
    assert payment_of(order_id).status == "voided"
    assert published_types() == ["payment.authorized", "payment.voided"]


def test_an_authorization_that_comes_after_the_order_was_rejected_is_voided():
    order_id = uuid.uuid4()
    run(order_placed(order_id), inventory_reserved(order_id), order_rejected(order_id))
    assert payment_of(order_id).status == "voided"
    assert published_types() == ["payment.authorized", "payment.voided"]


def test_an_order_rejected_before_authorization_is_never_authorized_and_its_payment_left_as_it_is():
    order_id = uuid.uuid4()
    run(order_placed(order_id), order_rejected(order_id, "not enough stock"), inventory_reserved(order_id))
    assert payment_of(order_id).status == "requires_authorization"
    assert authorizations_for(str(order_id)) == 0
    assert published_types() == []


def test_cancelling_before_authorization_means_never_authorizing():
    order_id = uuid.uuid4()
    run(order_placed(order_id), order_cancelled(order_id), inventory_reserved(order_id))
    assert payment_of(order_id).status == "voided"
    assert authorizations_for(str(order_id)) == 0
    assert published_types() == ["payment.voided"]


def test_a_cancellation_while_authorizing_voids_once_authorized():
    order_id = uuid.uuid4()
    apply(order_placed(order_id))
    apply(inventory_reserved(order_id))  # the authorization is pending ...
    apply(order_cancelled(order_id))  # ... when the order is cancelled
    payment = payment_of(order_id)
    assert (payment.status, payment.pending_step, payment.order_cancelled) == (
        "requires_authorization",
        "authorize",
        True,
    )

    payment_advance(order_id=order_id)  # cancelled before the call: no call at all
    assert payment_of(order_id).status == "voided"
    assert authorizations_for(str(order_id)) == 0


def test_an_authorization_recorded_after_a_cancellation_is_voided(django_capture_on_commit_callbacks):
    order_id = uuid.uuid4()
    apply(order_placed(order_id))
    apply(inventory_reserved(order_id))
    provider = SandboxProvider()
    original = provider.authorize

    def authorize_then_cancel(**kwargs):
        answer = original(**kwargs)
        apply(order_cancelled(order_id))  # the cancellation lands while the provider answers
        return answer

    provider.authorize = authorize_then_cancel  # type: ignore[method-assign]
    with django_capture_on_commit_callbacks(execute=True):
        payment_advance(order_id=order_id, provider=provider)
    assert history(order_id) == ["requires_authorization", "authorized", "voided"]
    assert published_types() == ["payment.authorized", "payment.voided"]


def test_shipping_an_unauthorized_order_captures_nothing():
    order_id = uuid.uuid4()
    run(
        order_placed(order_id, payment_method="pm_card_chargeDeclined"),
        inventory_reserved(order_id),
        order_shipped(order_id),
    )
    assert payment_of(order_id).status == "failed"
    assert not SandboxCharge.objects.filter(operation="capture").exists()


def test_an_answer_for_another_amount_is_refused():
    class Shortchanging(SandboxProvider):
        def authorize(self, **kwargs):
            answer = super().authorize(**kwargs)
            return ProviderPayment(answer.provider_id, answer.status, answer.amount_minor - 1, answer.currency)

    order_id = uuid.uuid4()
    apply(order_placed(order_id, total=Decimal("10.00")))
    apply(inventory_reserved(order_id))
    payment_advance(order_id=order_id, provider=Shortchanging())
    payment = payment_of(order_id)
    assert (payment.status, payment.failure_reason) == ("failed", "amount_mismatch")


def test_a_capture_left_unanswered_stays_pending_for_the_retry():
    order_id = uuid.uuid4()
    run(order_placed(order_id, payment_method="pm_card_flaky"), inventory_reserved(order_id))
    with override_settings(PAYMENT_PROVIDER_ATTEMPTS=1):
        run(order_shipped(order_id))  # the flaky card's first capture call times out; no more attempts
    payment = payment_of(order_id)
    assert (payment.status, payment.pending_step) == ("authorized", "capture")

    Payment.objects.filter(order_id=order_id).update(step_requested_at=payment.created_at - timedelta(minutes=1))
    payment_retry_pending(older_than=timedelta(seconds=5))
    assert payment_of(order_id).status == "captured"
    assert [event for event, _ in published()] == ["payment.authorized", "payment.captured"]


def test_every_status_change_is_announced_on_the_payments_topic():
    from shared.models import OutboxEvent

    order_id = uuid.uuid4()
    run(order_placed(order_id), inventory_reserved(order_id), order_shipped(order_id))
    assert set(OutboxEvent.objects.values_list("topic", "key")) == {("payments", str(order_id))}
    assert payment_of(order_id).status == PaymentStatus.CAPTURED
