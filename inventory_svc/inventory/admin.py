"""Staff view of stock. Levels change only through the stock services, never by editing a row here.

An adjustment made here goes through :func:`~inventory.services.stock_adjust`, like the API's.
The admin site's users are local Django users (integer ids), not the platform's staff (UUIDs),
so their movements have no ``actor``; the admin's username is appended to the reason instead.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from inventory.models import Movement, Reservation, ReservationLine, StockItem
from inventory.selectors import LOW_STOCK
from inventory.services import (
    MAX_ADJUSTMENT,
    MAX_REASON_LENGTH,
    stock_adjust,
    stock_item_set_low_stock_threshold,
    validate_adjustment_delta,
)
from shared.admin import ReadOnlyAdmin
from shared.errors import DomainError


class LowStockFilter(admin.SimpleListFilter):
    title = "stock level"
    parameter_name = "low_stock"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("true", "Low (available at or below the threshold)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(LOW_STOCK) if self.value() == "true" else queryset


class StockAdjustmentForm(forms.Form):
    """The fields of :class:`~inventory.serializers.AdjustmentInput`, whose rules (and limits) are the service's.

    ``reason`` takes up to ``MAX_REASON_LENGTH``; with the username appended it may then be too long,
    which :func:`stock_adjust` refuses and the form shows."""

    delta = forms.IntegerField(
        min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        validators=[validate_adjustment_delta],
        help_text="Units added (positive) or removed (negative); not zero.",
    )
    reason = forms.CharField(
        max_length=MAX_REASON_LENGTH, help_text="Why the stock changes; kept in the ledger with your username."
    )


def admin_reason(reason: str, request: HttpRequest) -> str:
    return f"{reason.strip()} (admin: {request.user.get_username()})"


@admin.register(StockItem)
class StockItemAdmin(admin.ModelAdmin[StockItem]):
    list_display = [
        "sku", "product_id", "on_hand", "reserved", "available", "low_stock_threshold", "is_active", "adjust_link",
    ]  # fmt: skip
    list_filter = [LowStockFilter, "is_active"]
    search_fields = ["sku", "product_id"]
    ordering = ["sku"]
    fields = [
        "product_id", "sku", "on_hand", "reserved", "available", "low_stock_threshold", "is_active",
        "stock_version", "updated_at", "adjust_link",
    ]  # fmt: skip
    readonly_fields = [
        "product_id", "sku", "on_hand", "reserved", "available", "is_active", "stock_version", "updated_at",
        "adjust_link",
    ]  # fmt: skip

    def get_urls(self) -> list[URLPattern]:
        adjust = path(
            "<path:object_id>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="inventory_stockitem_adjust",
        )
        return [adjust, *super().get_urls()]

    @admin.display(description="stock")
    def adjust_link(self, stock_item: StockItem) -> str:
        adjust = reverse("admin:inventory_stockitem_adjust", args=[stock_item.pk])
        ledger = reverse("admin:inventory_movement_changelist") + f"?stock_item__id__exact={stock_item.pk}"
        return format_html('<a href="{}">Adjust</a> | <a href="{}">Ledger</a>', adjust, ledger)

    def adjust_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A form calling :func:`stock_adjust`; its refusals (e.g. below reserved) are shown on the form."""
        stock_item = self.get_object(request, unquote(object_id))
        if stock_item is None:
            raise Http404(f"No stock row with id {object_id}.")
        if not self.has_change_permission(request, stock_item):
            raise PermissionDenied
        form = StockAdjustmentForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                stock_item = stock_adjust(
                    product_id=stock_item.product_id,
                    delta=form.cleaned_data["delta"],
                    reason=admin_reason(form.cleaned_data["reason"], request),
                    actor=None,
                )
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                done = f"Adjusted by {form.cleaned_data['delta']:+d}: {stock_item.on_hand} on hand."
                self.log_change(request, stock_item, done)
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:inventory_stockitem_change", args=[stock_item.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Adjust the stock of {stock_item.sku}",
            "stock_item": stock_item,
            "form": form,
        }
        return TemplateResponse(request, "admin/inventory/stockitem/adjust.html", context)

    def save_model(self, request: HttpRequest, obj: StockItem, form: ModelForm[StockItem], change: bool) -> None:
        stock_item_set_low_stock_threshold(stock_item=obj, threshold=form.cleaned_data["low_stock_threshold"])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # stock rows come from product.created

    def has_delete_permission(self, request: HttpRequest, obj: StockItem | None = None) -> bool:
        return False


@admin.register(Movement)
class MovementAdmin(ReadOnlyAdmin[Movement]):
    """The ledger (append-only)."""

    list_display = [
        "created_at",
        "stock_item",
        "kind",
        "on_hand_delta",
        "reserved_delta",
        "reason",
        "actor",
        "order_id",
    ]
    list_filter = ["kind"]
    list_select_related = ["stock_item"]
    search_fields = ["stock_item__sku", "=stock_item__product_id", "=order_id", "reason"]
    ordering = ["-created_at", "-id"]


class ReservationLineInline(admin.TabularInline[ReservationLine, Reservation]):
    model = ReservationLine
    fields = ["product_id", "quantity"]
    readonly_fields = ["product_id", "quantity"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin[Reservation]):
    list_display = ["order_id", "state", "created_at", "updated_at"]
    list_filter = ["state"]
    search_fields = ["=order_id"]
    inlines = [ReservationLineInline]
