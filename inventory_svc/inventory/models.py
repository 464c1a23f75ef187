from __future__ import annotations

from django.db import models


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
