"""Input and output shapes of the inventory API (no logic: the services decide)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from inventory.models import Movement, StockItem

MAX_ADJUSTMENT = 1_000_000


class StrictInput(serializers.Serializer[Any]):
    """An input serializer that refuses fields it does not accept, instead of ignoring them.

    DRF silently drops unknown fields, so a typo (``{"delta": 5, "reson": "..."}``) would be
    a 400 about a missing field at best and a silent loss at worst. Here every such field is a
    400 naming it, alongside the usual field errors. (The same class as user_svc's.)
    """

    def to_internal_value(self, data: Any) -> Any:
        refused: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            accepted = [name for name, field in self.fields.items() if not field.read_only]
            hint = f"Send only {', '.join(accepted)}." if accepted else "Send no fields."
            refused = {
                str(name): [f"This field is read-only. {hint}" if name in self.fields else f"Unknown field. {hint}"]
                for name in data
                if name not in accepted
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if refused and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **refused}) from exc
            raise
        if refused:
            raise serializers.ValidationError(refused)
        return value


class AdjustmentInput(StrictInput):
    """A change of the stock on hand, with its reason (kept in the ledger)."""

    delta = serializers.IntegerField(
        min_value=-MAX_ADJUSTMENT, max_value=MAX_ADJUSTMENT, help_text="Units added (positive) or removed (negative)."
    )
    reason = serializers.CharField(max_length=500, help_text="Why the stock changes (a count, a delivery, damage).")

    def validate_delta(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("Send a non-zero delta.")
        return value


class StockLevelOutput(serializers.ModelSerializer[StockItem]):
    available = serializers.IntegerField(read_only=True, help_text="on_hand - reserved")

    class Meta:
        model = StockItem
        fields = ["product_id", "sku", "on_hand", "reserved", "available", "low_stock_threshold", "updated_at"]


class MovementOutput(serializers.ModelSerializer[Movement]):
    class Meta:
        model = Movement
        fields = ["kind", "on_hand_delta", "reserved_delta", "reason", "actor", "order_id", "created_at"]
