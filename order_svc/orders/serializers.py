"""Input and output shapes of the order API (no logic: the services decide)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from rest_framework import serializers

from orders.models import (
    MAX_LINES,
    MAX_PAYMENT_METHOD_LENGTH,
    MAX_QUANTITY,
    PAYMENT_METHOD_PATTERN,
    Order,
    OrderLine,
    OrderStatus,
    StatusHistory,
)
from shared.serializers import FieldsBuiltOnce, StrictInput

MAX_ADDRESS_BYTES = 4096
# What staff may set by hand; the saga alone confirms and rejects, and cancelling has its own route.
STAFF_SETTABLE_STATUSES = [OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value]


# The serializers of placing an order and of its answer build their fields once per class (FieldsBuiltOnce):
# ~1 ms of CPU less per placement. None of them chooses its fields by context.


class LineInput(FieldsBuiltOnce, StrictInput):
    """One line of a new order: a product and how many of it."""

    product_id = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)  # a JSON integer (StrictInput)


class PaymentInput(StrictInput):
    """How an order is paid, and where to ship it (any JSON object): what placing and checking out a cart share."""

    payment_method = serializers.RegexField(
        PAYMENT_METHOD_PATTERN,
        max_length=MAX_PAYMENT_METHOD_LENGTH,
        help_text="The payment provider's token for how the customer pays, e.g. pm_card_visa; never card details.",
        error_messages={
            "invalid": "Send the payment provider's token, e.g. pm_card_visa: pm_ then 1 to 64 letters, digits or _."
        },
    )
    shipping_address = serializers.DictField(required=False, allow_null=True)

    def validate_shipping_address(self, address: dict[str, Any] | None) -> dict[str, Any] | None:
        if address is not None and len(json.dumps(address).encode()) > MAX_ADDRESS_BYTES:
            raise serializers.ValidationError(f"Keep the address under {MAX_ADDRESS_BYTES} bytes of JSON.")
        return address


class PlaceOrderInput(FieldsBuiltOnce, PaymentInput):
    """A new order: 1 to 50 lines, no product twice, how it is paid, and where to ship it (any JSON object)."""

    items = serializers.ListField(child=LineInput(), min_length=1, max_length=MAX_LINES)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        return {"items": fields.pop("items"), **fields}  # what is ordered first, as the API has always listed it

    def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return check_each_product_once(items)


def check_each_product_once(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` (each with a ``product_id``) if no product appears twice; else the validation error naming them."""
    repeated = [
        str(product_id) for product_id, count in Counter(item["product_id"] for item in items).items() if count > 1
    ]
    if repeated:
        raise serializers.ValidationError(
            [f"Product {product_id} appears more than once; send one line per product." for product_id in repeated]
        )
    return items


class CancelInput(StrictInput):
    """Why the order is cancelled (optional)."""

    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class StatusChangeInput(StrictInput):
    """The status staff move a confirmed order to: shipped, then delivered."""

    status = serializers.ChoiceField(choices=STAFF_SETTABLE_STATUSES)


class OrderFilterInput(serializers.Serializer[Any]):
    """The list's query parameters (not strict: ``page`` and ``page_size`` travel alongside)."""

    customer = serializers.UUIDField(required=False, help_text="Staff only: one customer's orders.")
    status = serializers.ChoiceField(
        choices=OrderStatus.choices, required=False, help_text="Only orders in this status."
    )


class OrderLineOutput(FieldsBuiltOnce, serializers.ModelSerializer[OrderLine]):
    class Meta:
        model = OrderLine
        fields = ["product_id", "sku", "name", "unit_price", "quantity", "line_total"]


class OrderOutput(FieldsBuiltOnce, serializers.ModelSerializer[Order]):
    items = OrderLineOutput(many=True, read_only=True, source="lines")
    rejection_reason = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "customer_id",
            "status",
            "items",
            "total",
            "currency",
            "rejection_reason",
            "payment_method",
            "payment_status",
            "shipping_address",
            "created_at",
            "updated_at",
        ]

    def get_rejection_reason(self, order: Order) -> str | None:
        """Why the order was rejected; null for an order that was not."""
        return order.rejection_reason or None


class StatusHistoryOutput(FieldsBuiltOnce, serializers.ModelSerializer[StatusHistory]):
    class Meta:
        model = StatusHistory
        fields = ["status", "at", "by", "reason"]
