"""The payment service's tables. Rules the database can hold are declared here as constraints.

Nothing happens in ``save()``: status changes are made by :mod:`payments.services`, checked by :mod:`payments.state`.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class PaymentStatus(models.TextChoices):
    REQUIRES_AUTHORIZATION = "requires_authorization"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    REFUNDED = "refunded"
    VOIDED = "voided"
    FAILED = "failed"


class Step(models.TextChoices):
    """A provider call the payment is waiting for; each has its own idempotency key (``<order id>:<step>``)."""

    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"


# The payment's status once the provider has done each step.
STATUS_AFTER: dict[str, str] = {
    Step.AUTHORIZE: PaymentStatus.AUTHORIZED,
    Step.CAPTURE: PaymentStatus.CAPTURED,
    Step.VOID: PaymentStatus.VOIDED,
    Step.REFUND: PaymentStatus.REFUNDED,
}


class Payment(models.Model):
    """The payment of one order, keyed by the order's id (the order service's).

    ``amount``, ``currency`` and ``payment_method`` are the snapshot ``order.placed`` carried; they stay
    empty until it arrives (inventory's answer may come first: ``stock_reserved`` remembers it).
    ``pending_step`` is the provider call asked for and not yet recorded; the consumer makes it after the
    asking transaction commits, and retries it later if a crash came between (:mod:`payments.tasks`).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order_id = models.UUIDField(unique=True)
    customer_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(
        max_length=32, choices=PaymentStatus.choices, default=PaymentStatus.REQUIRES_AUTHORIZATION
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    payment_method = models.CharField(max_length=255, blank=True)
    provider = models.CharField(max_length=32, blank=True)
    provider_id = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)  # provider calls made, retries included
    stock_reserved = models.BooleanField(default=False)  # inventory.reserved seen: authorize once placed
    order_cancelled = models.BooleanField(default=False)  # order.cancelled seen: never authorize (again)
    pending_step = models.CharField(max_length=16, choices=Step.choices, blank=True)
    step_requested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["pending_step", "step_requested_at"], name="payment_pending_step")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=PaymentStatus.values), name="payment_status_known"),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gt=0), name="payment_amount_positive"
            ),
            # Nothing leaves requires_authorization without the snapshot, except a cancellation that came first.
            models.CheckConstraint(
                condition=models.Q(status__in=["requires_authorization", "voided"]) | models.Q(amount__isnull=False),
                name="payment_amount_once_authorized",
            ),
        ]

    def __str__(self) -> str:
        return f"payment of order {self.order_id} ({self.status})"


class PaymentHistory(models.Model):
    """Every status a payment took, with when and why (append-only)."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="history")
    status = models.CharField(max_length=32, choices=PaymentStatus.choices)
    note = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "payment history"

    def __str__(self) -> str:
        return f"{self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class SandboxCharge(models.Model):
    """The sandbox provider's own record of the calls it answered, one row per idempotency key.

    This is what a real provider keeps on its side: a repeated key is answered from here, and tests
    count authorizations here to prove an order was charged once.
    """

    idempotency_key = models.CharField(max_length=255, unique=True)
    operation = models.CharField(max_length=16, choices=Step.choices)
    reference = models.CharField(max_length=255, blank=True)  # the order id
    payment_method = models.CharField(max_length=255, blank=True)
    provider_id = models.CharField(max_length=64, blank=True)
    amount_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=16, blank=True)  # the answer; empty while none was given
    decline_code = models.CharField(max_length=64, blank=True)
    calls = models.PositiveIntegerField(default=0)  # timed-out calls included
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"sandbox {self.operation} {self.idempotency_key} ({self.status or self.decline_code or 'no answer'})"
