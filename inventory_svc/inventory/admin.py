"""Staff view of stock. Levels change only through stock services (adjustments, reservations), never by hand here."""

from __future__ import annotations

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from inventory.models import StockItem
from inventory.services import stock_item_set_low_stock_threshold


@admin.register(StockItem)
class StockItemAdmin(admin.ModelAdmin[StockItem]):
    list_display = ["sku", "product_id", "on_hand", "reserved", "available", "low_stock_threshold", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["sku", "product_id"]
    ordering = ["sku"]
    fields = [
        "product_id", "sku", "on_hand", "reserved", "available", "low_stock_threshold", "is_active",
        "stock_version", "updated_at",
    ]  # fmt: skip
    readonly_fields = [
        "product_id", "sku", "on_hand", "reserved", "available", "is_active", "stock_version", "updated_at",
    ]  # fmt: skip

    def save_model(self, request: HttpRequest, obj: StockItem, form: ModelForm[StockItem], change: bool) -> None:
        stock_item_set_low_stock_threshold(stock_item=obj, threshold=form.cleaned_data["low_stock_threshold"])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # stock rows come from product.created

    def has_delete_permission(self, request: HttpRequest, obj: StockItem | None = None) -> bool:
        return False
