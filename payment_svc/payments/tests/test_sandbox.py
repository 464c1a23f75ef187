"""The sandbox provider: deterministic by token, one answer per idempotency key, its own record of charges."""

import threading

import pytest
from django.db import connection, transaction
from django.test import override_settings

from payments.models import SandboxCharge
from payments.providers import get_provider
from payments.providers.base import PaymentDeclined, ProviderTimeout
from payments.providers.sandbox import SandboxProvider, authorizations_for

pytestmark = pytest.mark.django_db


def authorize(method: str, key: str = "order-1:authorize", amount_minor: int = 2500):
    return SandboxProvider().authorize(
        amount_minor=amount_minor, currency="usd", payment_method=method, idempotency_key=key, reference="order-1"
    )


@pytest.mark.parametrize("method", ["pm_card_visa", "pm_card_mastercard"])
def test_good_cards_are_authorized(method):
    payment = authorize(method)
    assert (payment.status, payment.amount_minor, payment.currency) == ("authorized", 2500, "usd")
    assert payment.provider_id.startswith("sbx_")
    assert authorizations_for("order-1") == 1


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("4242424242424242", "invalid_payment_method"),
    ],
)
def test_declining_cards_are_declined_with_their_code(method, code):
    with pytest.raises(PaymentDeclined) as declined:
        authorize(method)
    assert declined.value.code == code
    assert authorizations_for("order-1") == 0


def test_a_repeated_key_gets_the_first_answer_and_charges_once():
    first = authorize("pm_card_visa")
    again = authorize("pm_card_visa")
    assert again == first
    assert authorizations_for("order-1") == 1
    assert SandboxCharge.objects.get(idempotency_key="order-1:authorize").calls == 2


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_as_the_service_calls_a_repeated_key_gets_the_first_answer_too():
    first = authorize("pm_card_visa")  # the INSERT alone, committed on its own
    again = authorize("pm_card_visa")  # its INSERT refused: answered from the first's row
    assert again == first
    assert (authorizations_for("order-1"), SandboxCharge.objects.get().calls) == (1, 2)


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_first_call_with_the_same_key_waits_for_the_first_and_gets_its_answer():
    written, finish, answers = threading.Event(), threading.Event(), []

    def first_call_held_open():
        try:
            with transaction.atomic():  # the first call's row written, not yet committed
                answers.append(authorize("pm_card_visa"))
                written.set()
                finish.wait(10)
        finally:
            connection.close()

    first = threading.Thread(target=first_call_held_open)
    first.start()
    assert written.wait(10)
    threading.Timer(0.2, finish.set).start()  # the second call below waits on the key meanwhile (or not yet: alike)
    again = authorize("pm_card_visa")
    first.join(10)

    assert [again] == answers
    assert (authorizations_for("order-1"), SandboxCharge.objects.get().calls) == (1, 2)


def test_a_repeated_key_is_declined_again():
    for _ in range(2):
        with pytest.raises(PaymentDeclined):
            authorize("pm_card_chargeDeclined")
    assert SandboxCharge.objects.get().calls == 2


def test_the_timeout_card_times_out_every_time():
    for _ in range(3):
        with pytest.raises(ProviderTimeout):
            authorize("pm_card_timeout")
    assert authorizations_for("order-1") == 0


def test_the_flaky_card_times_out_on_the_first_call_of_each_key_then_succeeds():
    with pytest.raises(ProviderTimeout):
        authorize("pm_card_flaky")
    payment = authorize("pm_card_flaky")
    assert payment.status == "authorized"
    provider = SandboxProvider()
    with pytest.raises(ProviderTimeout):
        provider.capture(provider_id=payment.provider_id, amount_minor=2500, idempotency_key="order-1:capture")
    assert (
        provider.capture(provider_id=payment.provider_id, amount_minor=2500, idempotency_key="order-1:capture").status
        == "captured"
    )
    assert authorizations_for("order-1") == 1


def test_capture_then_refund():
    provider = SandboxProvider()
    payment = authorize("pm_card_visa")
    captured = provider.capture(provider_id=payment.provider_id, amount_minor=2500, idempotency_key="o:capture")
    refunded = provider.refund(provider_id=payment.provider_id, amount_minor=2500, idempotency_key="o:refund")
    assert (captured.status, refunded.status) == ("captured", "refunded")


def test_a_voided_payment_cannot_be_captured():
    provider = SandboxProvider()
    payment = authorize("pm_card_visa")
    assert provider.void(provider_id=payment.provider_id, idempotency_key="o:void").status == "voided"
    with pytest.raises(PaymentDeclined, match="payment_intent_unexpected_state"):
        provider.capture(provider_id=payment.provider_id, amount_minor=2500, idempotency_key="o:capture")


def test_more_than_authorized_cannot_be_captured():
    payment = authorize("pm_card_visa")
    with pytest.raises(PaymentDeclined, match="amount_too_large"):
        SandboxProvider().capture(provider_id=payment.provider_id, amount_minor=2501, idempotency_key="o:capture")


def test_an_uncaptured_payment_cannot_be_refunded():
    payment = authorize("pm_card_visa")
    with pytest.raises(PaymentDeclined, match="charge_not_refundable"):
        SandboxProvider().refund(provider_id=payment.provider_id, amount_minor=2500, idempotency_key="o:refund")


def test_an_unknown_payment_cannot_be_captured():
    with pytest.raises(PaymentDeclined, match="No authorized sandbox payment sbx_nope") as declined:
        SandboxProvider().capture(provider_id="sbx_nope", amount_minor=1, idempotency_key="o:capture")
    assert declined.value.code == "resource_missing"


def test_latency_is_injectable_and_comes_after_the_charge_is_recorded(monkeypatch):
    recorded_when_sleeping = []
    monkeypatch.setattr(
        "payments.providers.sandbox.time.sleep",
        lambda seconds: recorded_when_sleeping.append((seconds, authorizations_for("order-1"))),
    )
    with override_settings(PAYMENT_SANDBOX_LATENCY_MS=250):
        authorize("pm_card_visa")
    assert recorded_when_sleeping == [(0.25, 1)]


def test_the_provider_is_chosen_by_setting():
    assert get_provider().name == "sandbox"
    with override_settings(PAYMENT_PROVIDER="sandbox"):
        assert isinstance(get_provider(), SandboxProvider)
    with pytest.raises(ValueError, match="Unknown payment provider 'paypal'"):
        get_provider("paypal")
