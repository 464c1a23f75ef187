"""Input and output shapes of the inventory API (no logic: the services decide)."""

from __future__ import annotations

from rest_framework import serializers

from inventory.models import Movement, StockItem
from inventory.services import MAX_ADJUSTMENT, MAX_REASON_LENGTH, validate_adjustment_delta
from shared.serializers import StrictInput


class AdjustmentInput(StrictInput):
    """A change of the stock on hand, with its reason (kept in the ledger)."""

    delta = serializers.IntegerField(
        min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        validators=[validate_adjustment_delta],
        help_text="Units added (positive) or removed (negative); not zero.",
    )
    reason = serializers.CharField(
        max_length=MAX_REASON_LENGTH, help_text="Why the stock changes (a count, a delivery, damage)."
    )


class StockLevelOutput(serializers.ModelSerializer[StockItem]):
    available = serializers.IntegerField(read_only=True, help_text="on_hand - reserved")

    class Meta:
        model = StockItem
        fields = ["product_id", "sku", "on_hand", "reserved", "available", "low_stock_threshold", "updated_at"]


class MovementOutput(serializers.ModelSerializer[Movement]):
    class Meta:
        model = Movement
        fields = ["kind", "on_hand_delta", "reserved_delta", "reason", "actor", "order_id", "created_at"]
