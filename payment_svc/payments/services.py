"""Writes to payments. Event handlers, the periodic retry and the admin call these; each is safe to run twice.

Two halves, so no database transaction is ever open while a provider is called:

1. The event handlers (inside the consumer's transaction, with the inbox row) record what they learnt and,
   when a provider call is due, set the payment's ``pending_step`` (:func:`_request_step`).
2. Once that commits, :func:`payment_advance` makes the call, outside any transaction, with the step's
   idempotency key ``<order id>:<step>``, retrying a provider error with backoff; then it records the
   answer (transition, history row, event in the outbox) in a transaction of its own.

A crash between the call and its record leaves the step pending; the consumer's periodic task
(:mod:`payments.tasks`) makes the call again, and the provider answers the repeated key with its first
answer, so nothing is charged twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments import metrics
from payments.errors import AmountMismatch
from payments.models import STATUS_AFTER, Payment, PaymentHistory, PaymentStatus, Step
from payments.providers import get_provider
from payments.providers.base import PaymentDeclined, PaymentProvider, ProviderError, ProviderPayment
from payments.state import check_transition
from shared.events import Envelope, handler_transaction, publish
from shared.money import from_minor_units, money, to_minor_units

logger = logging.getLogger(__name__)

PROVIDER_UNAVAILABLE = "provider unavailable"
AMOUNT_MISMATCH = "amount_mismatch"
# The event each status is announced with.
ANNOUNCED: dict[str, str] = {
    PaymentStatus.AUTHORIZED: "payment.authorized",
    PaymentStatus.FAILED: "payment.failed",
    PaymentStatus.CAPTURED: "payment.captured",
    PaymentStatus.VOIDED: "payment.voided",
    PaymentStatus.REFUNDED: "payment.refunded",
}


def idempotency_key(*, order_id: UUID, step: str) -> str:
    """The key of one provider step of one order: the same on every retry and every redelivery."""
    return f"{order_id}:{step}"


# What the saga's events tell the payment (event handlers, inside the consumer's transaction)


def payment_note_order(
    *, order_id: UUID, customer_id: UUID, amount: Decimal, currency: str, payment_method: str
) -> Payment:
    """Keeps ``order.placed``'s snapshot (what to authorize); authorizes if inventory already reserved."""
    snapshot = {"customer_id": customer_id, "amount": amount, "currency": currency, "payment_method": payment_method}
    with handler_transaction():
        # Usually the order's first event: the payment is inserted first, with the snapshot.
        payment = _create_or_lock(order_id, snapshot)
        changed: list[str] = []
        if payment.amount is None:  # inventory's answer came first and created the payment without it
            for field, value in snapshot.items():
                setattr(payment, field, value)
            changed += snapshot
        changed += _authorize_if_ready(payment)
        _save(payment, *changed)
    return payment


def payment_note_stock_reserved(*, order_id: UUID) -> Payment:
    """Inventory reserved the order's stock: authorize, once the snapshot from ``order.placed`` is here."""
    with handler_transaction():
        # Created here only when it comes before order.placed: then with the flag, not an UPDATE after.
        payment = _lock(order_id, created_with={"stock_reserved": True})
        changed: list[str] = []
        if not payment.stock_reserved:
            payment.stock_reserved = True
            changed.append("stock_reserved")
        changed += _authorize_if_ready(payment)
        _save(payment, *changed)  # the flag and the step asked for in one UPDATE
    return payment


def payment_note_order_cancelled(*, order_id: UUID) -> Payment:
    """The order was cancelled: void an authorization, and never authorize after this.

    An authorization in flight is voided once recorded (:func:`_record`); a payment never authorized
    becomes ``voided`` at once, with nothing to give back.
    """
    with handler_transaction():
        payment = _note_order_ended(order_id)
        if payment.status == PaymentStatus.REQUIRES_AUTHORIZATION and payment.pending_step != Step.AUTHORIZE:
            _transition(payment, PaymentStatus.VOIDED, note="order cancelled before authorization")
    return payment


def payment_note_order_rejected(*, order_id: UUID) -> Payment:
    """The order was rejected (no stock, payment failed, or it timed out waiting): never authorize after
    this, and void an authorization that came too late (recorded or still in flight, as for a cancel).

    Unlike a cancel, a payment that was never authorized stays as it is: nothing was asked of the provider.
    """
    with handler_transaction():
        return _note_order_ended(order_id)


def _note_order_ended(order_id: UUID) -> Payment:
    """The order will not be paid for: no authorization after this, and a recorded one is voided."""
    payment = _lock(order_id, created_with={"order_cancelled": True})  # its first event: created with the flag
    changed: list[str] = []
    if not payment.order_cancelled:
        payment.order_cancelled = True
        changed.append("order_cancelled")
    if payment.status == PaymentStatus.AUTHORIZED and not payment.pending_step:
        changed += _request_step(payment, Step.VOID)
    _save(payment, *changed)
    return payment


def payment_request_capture(*, order_id: UUID) -> Payment:
    """The order shipped: capture the authorized amount."""
    return _request_follow_up(order_id, Step.CAPTURE, of=PaymentStatus.AUTHORIZED)


def payment_request_refund(*, order_id: UUID) -> Payment:
    """Staff refunded the order: refund the captured amount."""
    return _request_follow_up(order_id, Step.REFUND, of=PaymentStatus.CAPTURED)


def _request_follow_up(order_id: UUID, step: str, *, of: str) -> Payment:
    """Asks for ``step`` of a payment in status ``of``. A redelivered request (the step pending or done)
    changes nothing; one the payment cannot do (never authorized, voided) is logged and counted as refused."""
    with handler_transaction():
        payment = _lock(order_id)
        if payment.status == of and not payment.pending_step:
            _save(payment, *_request_step(payment, step))
        elif payment.pending_step != step and payment.status != STATUS_AFTER[step]:
            logger.error("order %s: %s asked of its payment in status %s: refused", order_id, step, payment.status)
            metrics.count_step_on_commit(step=step, outcome="refused")
    return payment


def _lock(order_id: UUID, *, created_with: dict[str, Any] | None = None) -> Payment:
    """Locks the order's payment; its first event creates it (with ``created_with``) and its first history row.

    For events that usually find the payment there: one SELECT ... FOR UPDATE when it is.
    """
    payment, created = Payment.objects.select_for_update().get_or_create(order_id=order_id, defaults=created_with)
    if created:
        _first_history_row(payment)
    return payment


def _create_or_lock(order_id: UUID, created_with: dict[str, Any]) -> Payment:
    """:func:`_lock` for the event that usually comes first (``order.placed``): it inserts before it looks.

    ``INSERT ... ON CONFLICT DO NOTHING`` then the row read under its lock: two statements where
    ``get_or_create`` takes four (the SELECT that misses, and a savepoint around its INSERT). A payment
    already there (inventory's answer came first, or a redelivery) is left as it was by the INSERT, and
    locked by the SELECT; a concurrent insert of the same order makes ours wait for it, then do nothing.
    Whether the row is ours is told by its id, which we chose.
    """
    new = Payment(order_id=order_id, **created_with)
    Payment.objects.bulk_create([new], ignore_conflicts=True)
    payment = Payment.objects.select_for_update().get(order_id=order_id)
    if payment.pk == new.pk:
        _first_history_row(payment)
    return payment


def _first_history_row(payment: Payment) -> None:
    PaymentHistory.objects.create(payment=payment, status=payment.status, at=payment.created_at)


def _save(payment: Payment, *fields: str) -> None:
    """Writes ``fields`` (and ``updated_at``) of the locked ``payment``: only what changed, nothing when nothing did."""
    if not fields:
        return
    payment.updated_at = timezone.now()
    payment.save(update_fields=[*dict.fromkeys(fields), "updated_at"])


def _authorize_if_ready(payment: Payment) -> list[str]:
    """Asks for the authorization when the payment has all it needs; returns the fields to save."""
    ready = payment.amount is not None and payment.stock_reserved and not payment.order_cancelled
    if ready and payment.status == PaymentStatus.REQUIRES_AUTHORIZATION and not payment.pending_step:
        return _request_step(payment, Step.AUTHORIZE)
    return []


def _request_step(payment: Payment, step: str) -> list[str]:
    """Asks for the provider call ``step``, made once the caller's transaction commits; returns the fields
    the caller saves (with its own changes, in one UPDATE).

    The call starts from ``payment`` as that transaction commits it, instead of reading the row back.
    """
    payment.pending_step, payment.step_requested_at = step, timezone.now()
    transaction.on_commit(lambda: payment_advance(order_id=payment.order_id, committed=payment), robust=True)
    return ["pending_step", "step_requested_at"]


def _transition(payment: Payment, to: str, *, note: str = "", changed: Sequence[str] = ()) -> None:
    """Moves ``payment`` to ``to`` (checked by :mod:`payments.state`), writes its history row and event.

    ``changed``: fields the caller set on ``payment``, saved in the same UPDATE as the status.
    """
    check_transition(current=payment.status, to=to)
    payment.status = to
    _save(payment, *changed, "status")
    PaymentHistory.objects.create(payment=payment, status=to, note=note[:255], at=payment.updated_at)
    publish(Envelope(type=ANNOUNCED[to], key=str(payment.order_id), payload=_payload(payment)))


def _payload(payment: Payment) -> dict[str, str]:
    order_id = str(payment.order_id)
    amount = money(payment.amount) if payment.amount is not None else ""
    if payment.status == PaymentStatus.AUTHORIZED:
        return {"order_id": order_id, "amount": amount, "currency": payment.currency, "provider": payment.provider}
    if payment.status == PaymentStatus.FAILED:
        return {"order_id": order_id, "reason": payment.failure_reason}
    if payment.status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED):
        return {"order_id": order_id, "amount": amount, "currency": payment.currency}
    return {"order_id": order_id}


# The provider calls (outside any transaction)


@dataclass(frozen=True)
class Answer:
    """What the provider said to one step, after the retries: a payment, a decline or no answer."""

    attempts: int
    payment: ProviderPayment | None = None
    declined: str = ""  # the provider's code

    @property
    def unavailable(self) -> bool:
        return self.payment is None and not self.declined


def payment_advance(
    *, order_id: UUID, provider: PaymentProvider | None = None, committed: Payment | None = None
) -> Payment | None:
    """Makes the payment's pending provider call and records the answer; nothing when no call is pending.

    Must be called outside a transaction (the provider's side does not roll back). Safe to run twice
    or concurrently: both calls carry the same idempotency key, and only the first answer recorded counts.
    ``committed`` is the payment as the transaction that asked for the call committed it (its commit hook
    passes it): the call starts from it instead of a SELECT; the answer is recorded on the row read again
    under its lock, as always.
    """
    payment = committed if committed is not None else Payment.objects.filter(order_id=order_id).first()
    if payment is None or not payment.pending_step:
        return payment
    step = payment.pending_step
    if step == Step.AUTHORIZE and payment.order_cancelled:
        return _drop_authorization(payment)
    chosen = provider or get_provider()
    answer = call_with_retries(lambda: _call(chosen, payment, step))
    with transaction.atomic():
        current = Payment.objects.select_for_update().get(pk=payment.pk)
        if current.pending_step != step:
            return current  # another process recorded this step meanwhile
        _record(current, step, answer, provider=chosen.name)
    return current


def _drop_authorization(payment: Payment) -> Payment:
    """The order was cancelled before its authorization was called for: no call, nothing held."""
    with transaction.atomic():
        current = Payment.objects.select_for_update().get(pk=payment.pk)
        if current.pending_step == Step.AUTHORIZE:
            current.pending_step = ""
            _transition(
                current, PaymentStatus.VOIDED, note="order cancelled before authorization", changed=["pending_step"]
            )
    return current


def call_with_retries(call: Callable[[], ProviderPayment]) -> Answer:
    """``call()``, retried on :class:`ProviderError` (a timeout, a 5xx) with doubling pauses, a few times.

    A decline is an answer, not a failure: it is not retried.
    """
    attempts = settings.PAYMENT_PROVIDER_ATTEMPTS
    pause_ms = settings.PAYMENT_PROVIDER_BACKOFF_MS
    for attempt in range(1, attempts + 1):
        try:
            return Answer(attempts=attempt, payment=call())
        except PaymentDeclined as exc:
            return Answer(attempts=attempt, declined=exc.code)
        except ProviderError as exc:
            logger.warning("payment provider failed (attempt %d of %d): %r", attempt, attempts, exc)
            if attempt < attempts:
                time.sleep(pause_ms * 2 ** (attempt - 1) / 1000)
    return Answer(attempts=attempts)


def _call(provider: PaymentProvider, payment: Payment, step: str) -> ProviderPayment:
    key = idempotency_key(order_id=payment.order_id, step=step)
    if payment.amount is None:
        raise ValueError(f"payment of order {payment.order_id} has no amount to {step}")
    amount_minor = to_minor_units(payment.amount)
    if step == Step.AUTHORIZE:
        return provider.authorize(
            amount_minor=amount_minor,
            currency=payment.currency.lower(),
            payment_method=payment.payment_method,
            idempotency_key=key,
            reference=str(payment.order_id),
        )
    if step == Step.CAPTURE:
        return provider.capture(provider_id=payment.provider_id, amount_minor=amount_minor, idempotency_key=key)
    if step == Step.VOID:
        return provider.void(provider_id=payment.provider_id, idempotency_key=key)
    return provider.refund(provider_id=payment.provider_id, amount_minor=amount_minor, idempotency_key=key)


def _record(payment: Payment, step: str, answer: Answer, *, provider: str) -> None:
    """Records ``provider``'s answer to ``step`` (the caller holds the payment's row lock, in its transaction)."""
    outcome = "succeeded" if answer.payment else "declined" if answer.declined else "unavailable"
    metrics.count_step_on_commit(step=step, outcome=outcome)
    payment.attempts += answer.attempts
    payment.provider = payment.provider or provider
    changed = ["attempts", "provider"]
    if answer.unavailable and step != Step.AUTHORIZE:
        # Capture, void and refund must happen: left pending, the periodic task tries again later.
        logger.error(
            "payment of order %s: %s failed after %d attempts; will retry", payment.order_id, step, answer.attempts
        )
        payment.step_requested_at = timezone.now()
        _save(payment, *changed, "step_requested_at")
        return
    payment.pending_step = ""
    changed.append("pending_step")
    if answer.payment is not None:
        try:
            _check_amount(payment, answer.payment, step)
        except AmountMismatch as exc:
            logger.error("payment of order %s: %s", payment.order_id, exc.detail)
            answer = Answer(attempts=answer.attempts, declined=AMOUNT_MISMATCH)
    if answer.payment is not None:
        if step == Step.AUTHORIZE:
            payment.provider_id = answer.payment.provider_id
            changed.append("provider_id")
        _transition(
            payment, STATUS_AFTER[step], note=f"{payment.provider} {answer.payment.provider_id}", changed=changed
        )
        if step == Step.AUTHORIZE and payment.order_cancelled:
            _save(payment, *_request_step(payment, Step.VOID))  # the order was cancelled while it was being authorized
        return
    reason = answer.declined or PROVIDER_UNAVAILABLE
    if step == Step.AUTHORIZE:
        payment.failure_reason = reason
        tries = "1 attempt" if answer.attempts == 1 else f"{answer.attempts} attempts"
        _transition(payment, PaymentStatus.FAILED, note=f"{reason} after {tries}", changed=[*changed, "failure_reason"])
        return
    # A follow-up refused for good (the provider's state disagrees): recorded, for staff to look at.
    logger.error("payment of order %s: the provider refused to %s: %s", payment.order_id, step, reason)
    payment.failure_reason = f"{step} refused: {reason}"[:255]
    _save(payment, *changed, "failure_reason")
    PaymentHistory.objects.create(payment=payment, status=payment.status, note=payment.failure_reason)


def _check_amount(payment: Payment, answered: ProviderPayment, step: str) -> None:
    """Refuses an answer for another amount or currency than the payment's (a capture must match the authorization)."""
    assert payment.amount is not None
    if answered.amount_minor != to_minor_units(payment.amount) or answered.currency.upper() != payment.currency:
        raise AmountMismatch(
            f"the provider's {step} is for {money(from_minor_units(answered.amount_minor))} "
            f"{answered.currency.upper()}, the payment for {money(payment.amount)} {payment.currency}"
        )


# The periodic retry


def payment_retry_pending(*, older_than: timedelta, limit: int = 100) -> int:
    """Makes the provider calls left pending longer than ``older_than`` (a crash, an unavailable provider)."""
    cutoff = timezone.now() - older_than
    order_ids = list(
        Payment.objects.exclude(pending_step="")
        .filter(step_requested_at__lt=cutoff)
        .order_by("step_requested_at")
        .values_list("order_id", flat=True)[:limit]
    )
    for order_id in order_ids:
        payment_advance(order_id=order_id)
    return len(order_ids)
