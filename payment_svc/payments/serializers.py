"""Output shapes of the payment API (no logic: the services decide). Amounts are decimal strings."""

from __future__ import annotations

from rest_framework import serializers

from payments.models import Payment, PaymentHistory


class PaymentHistoryOutput(serializers.ModelSerializer[PaymentHistory]):
    class Meta:
        model = PaymentHistory
        fields = ["status", "at"]


class PaymentOutput(serializers.ModelSerializer[Payment]):
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=True, allow_null=True, read_only=True,
        help_text='The order total from order.placed, e.g. "19.99"; null until payment has heard of it.',
    )  # fmt: skip
    history = PaymentHistoryOutput(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = ["order_id", "status", "amount", "currency", "provider", "failure_reason", "attempts", "history"]
