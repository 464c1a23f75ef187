"""Input and output shapes of the cart API (no logic: the services and selectors decide)."""

from __future__ import annotations

from typing import Any

from orders.models import MAX_LINES, MAX_QUANTITY
from orders.serializers import LineInput, PaymentInput, check_each_product_once
from rest_framework import serializers

from shared.serializers import StrictInput


class QuantityInput(StrictInput):
    """How many of the product the cart holds: 1 to 1000, or 0 to remove it."""

    quantity = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY)  # a JSON integer (StrictInput)


class MergeInput(StrictInput):
    """A guest's cart, kept by the storefront until sign-in: up to 50 lines, no product twice."""

    items = serializers.ListField(child=LineInput(), min_length=1, max_length=MAX_LINES)

    def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return check_each_product_once(items)


class CheckoutInput(PaymentInput):
    """How the cart's order is paid, and where to ship it (any JSON object); the lines are the cart's."""


class CartLineOutput(serializers.Serializer[Any]):
    product_id = serializers.UUIDField()
    sku = serializers.CharField()
    name = serializers.CharField()
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Today's price; the price when added if no longer sold."
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    available = serializers.IntegerField(min_value=0, help_text="Units in stock now (0 when no longer sold).")


class CartWarningOutput(serializers.Serializer[Any]):
    """Something checking out would meet: ``old_price`` and ``new_price`` come with ``price_changed``,
    ``available`` with ``insufficient_stock``."""

    code = serializers.ChoiceField(choices=["price_changed", "insufficient_stock", "unavailable"])
    product_id = serializers.UUIDField()
    old_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, help_text="The price when the line was added."
    )
    new_price = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, help_text="Today's price.")
    available = serializers.IntegerField(min_value=0, required=False, help_text="Units in stock now.")


class CartOutput(serializers.Serializer[Any]):
    items = CartLineOutput(many=True)
    total = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="The lines that can be ordered, at today's prices."
    )
    currency = serializers.CharField(allow_null=True, help_text="The lines' currency; null for an empty cart.")
    warnings = CartWarningOutput(many=True)
    updated_at = serializers.DateTimeField(allow_null=True, help_text="The last change; null for an empty cart.")
