"""The order service's tables. Rules the database can hold are declared here as constraints.

Nothing happens in ``save()``: status changes go through :func:`orders.services.order_transition`.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models
from django.utils import timezone

MAX_LINES = 50
MAX_QUANTITY = 1000
MAX_IDEMPOTENCY_KEY_LENGTH = 255
# The largest amount a Decimal(12, 2) column (and the events' money schema) can hold.
MAX_MONEY = Decimal("9999999999.99")


class OrderStatus(models.TextChoices):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class PaymentStatus(models.TextChoices):
    """The order's view of its payment: a projection of the payment service's ``payment.*`` events."""

    PENDING = "pending"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    VOIDED = "voided"
    REFUNDED = "refunded"
    FAILED = "failed"


class CustomerRole(models.TextChoices):
    CUSTOMER = "customer"
    STAFF = "staff"


def _status_is_known(field: str) -> models.Q:
    return models.Q(**{f"{field}__in": OrderStatus.values})


# A payment provider's token for how the customer pays (Stripe's test tokens look like ``pm_card_visa``).
MAX_PAYMENT_METHOD_LENGTH = 67
PAYMENT_METHOD_PATTERN = r"^pm_[A-Za-z0-9_]{1,64}$"


class Order(models.Model):
    """An order with its prices frozen at placement. ``customer_id`` is the user's id in the user service.

    It is not a foreign key to :class:`Customer`: the projection may lag behind the user service,
    and an order must never wait for it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer_id = models.UUIDField()
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    rejection_reason = models.TextField(blank=True, default="")
    # The provider's token the customer pays with (never card details); empty only on orders older than payments.
    payment_method = models.CharField(max_length=MAX_PAYMENT_METHOD_LENGTH, blank=True, default="")
    payment_status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    # When inventory reserved the stock: a pending order with it set is waiting for its payment.
    stock_reserved_at = models.DateTimeField(null=True, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=_status_is_known("status"), name="order_status_known"),
            models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="order_currency_iso"),
            models.CheckConstraint(
                condition=models.Q(payment_status__in=PaymentStatus.values), name="order_payment_status_known"
            ),
            models.CheckConstraint(
                condition=models.Q(payment_method="") | models.Q(payment_method__regex=PAYMENT_METHOD_PATTERN),
                name="order_payment_method_is_a_token",
            ),
        ]
        indexes = [
            models.Index(fields=["customer_id", "-created_at"], name="order_customer_newest_idx"),
            models.Index(fields=["status", "-created_at"], name="order_status_newest_idx"),
            models.Index(fields=["-created_at"], name="order_newest_idx"),
        ]

    def __str__(self) -> str:
        return f"Order {self.id} ({self.status})"


class OrderLine(models.Model):
    """One product of an order, with the sku, name and price the catalog had at placement."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product_id = models.UUIDField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "product_id"], name="order_line_product_once"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1, quantity__lte=MAX_QUANTITY), name="order_line_quantity_range"
            ),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="order_line_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class StatusHistory(models.Model):
    """One status an order entered: when, by whom (None: the system, e.g. the saga) and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    status = models.CharField(max_length=16, choices=OrderStatus.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.UUIDField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "status history"
        constraints = [models.CheckConstraint(condition=_status_is_known("status"), name="history_status_known")]

    def __str__(self) -> str:
        return f"{self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class IdempotencyKey(models.Model):
    """A customer's ``Idempotency-Key`` and the request it first came with.

    Inserted first in the placing transaction: the unique index makes a concurrent request
    with the same key wait for that transaction, then find this row and the order it made.
    """

    customer_id = models.UUIDField()
    key = models.CharField(max_length=MAX_IDEMPOTENCY_KEY_LENGTH)
    request_hash = models.CharField(max_length=64)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer_id", "key"], name="idempotency_key_per_customer")]

    def __str__(self) -> str:
        return f"{self.key} ({self.customer_id})"


class Customer(models.Model):
    """What this service knows of a user, projected from the user service's ``user.*`` events."""

    id = models.UUIDField(primary_key=True)
    email = models.CharField(max_length=254, blank=True, default="")
    role = models.CharField(max_length=16, choices=CustomerRole.choices, default=CustomerRole.CUSTOMER)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email or str(self.id)
