"""Staff view of payments, read-only: payments change only through the saga's events (payments.services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from payments.models import Payment, PaymentHistory, SandboxCharge
from shared.admin import ReadOnlyAdmin


class PaymentHistoryInline(admin.TabularInline[PaymentHistory, Payment]):
    model = PaymentHistory
    fields = ["status", "note", "at"]
    readonly_fields = ["status", "note", "at"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin[Payment]):
    list_display = ["order_id", "status", "amount", "currency", "provider", "failure_reason", "attempts", "updated_at"]
    list_filter = ["status", "provider", "pending_step"]
    search_fields = ["=order_id", "=customer_id", "provider_id"]
    inlines = [PaymentHistoryInline]


@admin.register(SandboxCharge)
class SandboxChargeAdmin(ReadOnlyAdmin[SandboxCharge]):
    """The sandbox provider's side: what it was asked, and what it answered."""

    list_display = [
        "created_at", "operation", "reference", "payment_method", "amount_minor", "status", "decline_code", "calls",
    ]  # fmt: skip
    list_filter = ["operation", "status", "payment_method"]
    search_fields = ["=reference", "=idempotency_key", "=provider_id"]
