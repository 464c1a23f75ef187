"""Stock per product, the reservations held for orders, and the append-only ledger of every change.

Levels change only through :mod:`inventory.services`, under the stock row's lock; each change
writes its :class:`Movement` in the same transaction, so the ledger always sums to the levels.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class StockItem(models.Model):
    """Stock of one product. ``available`` is derived; the database holds ``0 <= reserved <= on_hand``."""

    product_id = models.UUIDField(unique=True)
    sku = models.CharField(max_length=64)
    on_hand = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0)
    low_stock_threshold = models.PositiveIntegerField(default=5)
    # False once the product was deleted from the catalog: nothing more is reserved for it.
    is_active = models.BooleanField(default=True)
    # Grows with every change of the levels; inventory.changed carries it so projections apply updates in order.
    stock_version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=models.Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=models.Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(
                condition=models.Q(on_hand__gte=models.F("reserved")), name="stock_reserved_within_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} ({self.available} available)"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class ReservationState(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    RELEASED = "released", "Released"
    CONSUMED = "consumed", "Consumed"
    # The order was short: nothing was reserved. Kept so that the decision is never taken twice
    # (a later redelivery of the order must not reserve stock for an order already rejected).
    FAILED = "failed", "Failed"


class Reservation(models.Model):
    """What inventory decided for one order: at most one per order, whatever its outcome."""

    order_id = models.UUIDField(unique=True)
    state = models.CharField(max_length=16, choices=ReservationState.choices, default=ReservationState.RESERVED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ReservationState.values), name="reservation_state_valid"),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} ({self.state})"


class ReservationLine(models.Model):
    reservation = models.ForeignKey(Reservation, on_delete=models.PROTECT, related_name="lines")
    product_id = models.UUIDField()
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["product_id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_line_quantity_positive"),
            models.UniqueConstraint(fields=["reservation", "product_id"], name="reservation_line_product_once"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"


class MovementKind(models.TextChoices):
    ADJUSTMENT = "adjustment", "Adjustment"
    RESERVATION = "reservation", "Reservation"
    RELEASE = "release", "Release"
    # The order was shipped: its reserved units left the shelf (on_hand and reserved both shrink).
    SHIPMENT = "shipment", "Shipment"


class Movement(models.Model):
    """One change of one product's levels. Append-only: rows are inserted, never updated or deleted.

    The database enforces it (a trigger, migration 0002) besides the admin being read-only.
    The sum of ``on_hand_delta`` / ``reserved_delta`` over a product's movements equals its levels
    (for stock that started at zero).
    """

    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=16, choices=MovementKind.choices)
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    reason = models.TextField(blank=True)
    # The staff user (token subject) who made an adjustment; null for the system (orders, seeding, the admin site).
    actor = models.UUIDField(null=True, blank=True)
    order_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["stock_item", "-created_at", "-id"], name="movement_ledger_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=MovementKind.values), name="movement_kind_valid"),
            # Each kind moves its levels in its own direction (a shipment both, by the same amount);
            # order movements name their order.
            models.CheckConstraint(
                condition=(
                    Q(kind=MovementKind.ADJUSTMENT, reserved_delta=0) & ~Q(on_hand_delta=0)
                    | Q(kind=MovementKind.RESERVATION, on_hand_delta=0, reserved_delta__gt=0, order_id__isnull=False)
                    | Q(kind=MovementKind.RELEASE, on_hand_delta=0, reserved_delta__lt=0, order_id__isnull=False)
                    | Q(
                        kind=MovementKind.SHIPMENT,
                        on_hand_delta__lt=0,
                        reserved_delta=F("on_hand_delta"),
                        order_id__isnull=False,
                    )
                ),
                name="movement_deltas_match_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on_hand {self.on_hand_delta:+d} reserved {self.reserved_delta:+d}"
