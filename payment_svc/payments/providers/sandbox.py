"""The sandbox provider: deterministic by payment method token, modelled on Stripe's test payment methods.

=========================================== ==========================================================
``pm_card_visa``, ``pm_card_mastercard``    every call succeeds
``pm_card_chargeDeclined``                  authorization declined: ``card_declined``
``pm_card_chargeDeclinedInsufficientFunds`` authorization declined: ``insufficient_funds``
``pm_card_timeout``                         every call times out (:class:`ProviderTimeout`)
``pm_card_flaky``                           the first call of each idempotency key times out, the next succeed
anything else                               authorization declined: ``invalid_payment_method``
=========================================== ==========================================================

It keeps its own record of calls (:class:`~payments.models.SandboxCharge`, one row per idempotency key,
in the payment database), as a real provider does on its side: a repeated key gets the first answer,
and tests count authorizations there to prove an order was charged once. Its writes commit on their
own, so callers must not call it inside a transaction they may roll back (the payment service never
does: provider calls happen between transactions). ``PAYMENT_SANDBOX_LATENCY_MS`` delays each answer.
"""

from __future__ import annotations

import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from payments.models import STATUS_AFTER, SandboxCharge, Step
from payments.providers.base import PaymentDeclined, ProviderPayment, ProviderTimeout

SUCCEEDING = frozenset({"pm_card_visa", "pm_card_mastercard"})
DECLINING: dict[str, str] = {
    "pm_card_chargeDeclined": "card_declined",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
}
TIMING_OUT = "pm_card_timeout"
FLAKY = "pm_card_flaky"
UNKNOWN_METHOD = "invalid_payment_method"
NO_SUCH_PAYMENT = "resource_missing"


@dataclass(frozen=True)
class _Call:
    operation: str
    payment_method: str
    provider_id: str
    amount_minor: int
    currency: str
    reference: str = ""


class SandboxProvider:
    name = "sandbox"

    def authorize(
        self, *, amount_minor: int, currency: str, payment_method: str, idempotency_key: str, reference: str
    ) -> ProviderPayment:
        call = _Call(
            Step.AUTHORIZE, payment_method, f"sbx_{uuid.uuid4().hex}", amount_minor, currency.lower(), reference
        )
        return self._answer(idempotency_key, call)

    def capture(self, *, provider_id: str, amount_minor: int, idempotency_key: str) -> ProviderPayment:
        return self._follow_up(Step.CAPTURE, provider_id=provider_id, amount_minor=amount_minor, key=idempotency_key)

    def void(self, *, provider_id: str, idempotency_key: str) -> ProviderPayment:
        return self._follow_up(Step.VOID, provider_id=provider_id, amount_minor=None, key=idempotency_key)

    def refund(self, *, provider_id: str, amount_minor: int, idempotency_key: str) -> ProviderPayment:
        return self._follow_up(Step.REFUND, provider_id=provider_id, amount_minor=amount_minor, key=idempotency_key)

    def _follow_up(self, operation: str, *, provider_id: str, amount_minor: int | None, key: str) -> ProviderPayment:
        """A call on an authorized payment: the payment method (hence the behaviour) is the authorization's."""
        authorization = SandboxCharge.objects.filter(
            operation=Step.AUTHORIZE, provider_id=provider_id, status=STATUS_AFTER[Step.AUTHORIZE]
        ).first()
        if authorization is None:
            raise PaymentDeclined(NO_SUCH_PAYMENT, f"No authorized sandbox payment {provider_id}.")
        amount = authorization.amount_minor if amount_minor is None else amount_minor
        call = _Call(operation, authorization.payment_method, provider_id, amount, authorization.currency)
        return self._answer(key, call)

    def _answer(self, key: str, call: _Call) -> ProviderPayment:
        """Answers ``call`` once per key: a repeated key gets the first answer (or times out again, if it did).

        The answer is recorded at once and reaches the caller ``PAYMENT_SANDBOX_LATENCY_MS`` later: the window
        in which a caller that dies has been charged without knowing it (what idempotency keys are for).
        """
        # The key's first call (the usual one): decided before it is written, so one INSERT records call and answer.
        charge = SandboxCharge(
            idempotency_key=key,
            operation=call.operation,
            reference=call.reference,
            payment_method=call.payment_method,
            provider_id=call.provider_id,
            amount_minor=call.amount_minor,
            currency=call.currency,
            calls=1,
        )
        self._decide(charge)
        if not _inserted(charge):
            charge = self._answer_again(key, call)
        latency_ms = settings.PAYMENT_SANDBOX_LATENCY_MS
        if latency_ms > 0:
            time.sleep(latency_ms / 1000)
        if charge.status:
            return ProviderPayment(charge.provider_id, charge.status, charge.amount_minor, charge.currency)
        if charge.decline_code:
            raise PaymentDeclined(charge.decline_code)
        raise ProviderTimeout(f"sandbox: {charge.payment_method} timed out ({charge.operation}, call {charge.calls})")

    def _answer_again(self, key: str, call: _Call) -> SandboxCharge:
        """A repeated key: its first answer (decided now if that call timed out), the call counted."""
        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().get(idempotency_key=key)
            if charge.operation != call.operation:
                raise ValueError(f"Idempotency key {key} was used for a {charge.operation}, not a {call.operation}.")
            charge.calls += 1
            if not charge.status and not charge.decline_code:
                self._decide(charge)
            charge.save(update_fields=["calls", "status", "decline_code"])
        return charge

    def _decide(self, charge: SandboxCharge) -> None:
        """Gives ``charge`` its answer, or none (a timeout: the next call with its key decides again)."""
        method = charge.payment_method
        if method == TIMING_OUT or (method == FLAKY and charge.calls == 1):
            return
        if charge.operation == Step.AUTHORIZE and method not in SUCCEEDING | {FLAKY}:
            charge.decline_code = DECLINING.get(method, UNKNOWN_METHOD)
            return
        conflict = self._conflict(charge) if charge.operation != Step.AUTHORIZE else ""
        if conflict:
            charge.decline_code = conflict
            return
        charge.status = STATUS_AFTER[charge.operation]

    def _conflict(self, charge: SandboxCharge) -> str:
        """Why the follow-up ``charge`` cannot be done to its payment (empty when it can), as Stripe refuses."""
        done = set(
            SandboxCharge.objects.filter(provider_id=charge.provider_id)
            .exclude(status="")
            .exclude(idempotency_key=charge.idempotency_key)  # this call's own row (not yet written on a first call)
            .values_list("operation", flat=True)
        )
        authorized = SandboxCharge.objects.get(
            provider_id=charge.provider_id, operation=Step.AUTHORIZE, status=STATUS_AFTER[Step.AUTHORIZE]
        )
        if charge.operation == Step.CAPTURE:
            if Step.VOID in done or Step.CAPTURE in done:
                return "payment_intent_unexpected_state"
            if charge.amount_minor > authorized.amount_minor:
                return "amount_too_large"
        if charge.operation == Step.VOID and (Step.CAPTURE in done or Step.VOID in done):
            return "payment_intent_unexpected_state"
        if charge.operation == Step.REFUND and (Step.CAPTURE not in done or Step.REFUND in done):
            return "charge_not_refundable"
        return ""


def _inserted(charge: SandboxCharge) -> bool:
    """Writes the first call of ``charge``'s key; False when the key has its row already (a repeated call).

    Outside a transaction, as the payment service calls, the INSERT alone, committed on its own: one
    round trip where a lookup first took four (BEGIN, SELECT ... FOR UPDATE, INSERT, COMMIT). Inside
    one (tests), in a savepoint, so that a taken key does not break it. A concurrent first call of the
    same key fails here once ours is written, and is answered from our row like any repeat.
    """
    try:
        with transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext():
            charge.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def authorizations_for(reference: str) -> int:
    """How many times the sandbox authorized a payment for ``reference`` (an order id): tests expect 0 or 1."""
    return SandboxCharge.objects.filter(
        operation=Step.AUTHORIZE, reference=reference, status=STATUS_AFTER[Step.AUTHORIZE]
    ).count()
