"""Staff admin of the catalog. Product writes go through the services, so every change publishes its event."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from catalog.models import Category, Product
from catalog.services import product_create, product_delete, product_update


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin[Product]):
    list_display = ["sku", "name", "category", "price", "currency", "is_active", "available", "updated_at"]
    list_editable = ["price", "is_active"]
    list_filter = ["category", "is_active"]
    list_select_related = ["category"]
    search_fields = ["sku", "name"]
    ordering = ["sku"]
    fields = [
        "id", "sku", "name", "description", "price", "currency", "category", "is_active",
        "available", "stock_version", "created_at", "updated_at",
    ]  # fmt: skip
    readonly_fields = ["id", "available", "stock_version", "created_at", "updated_at"]
    actions = ["deactivate_products"]

    def save_model(self, request: HttpRequest, obj: Product, form: ModelForm[Product], change: bool) -> None:
        """Saves through ``product_create`` / ``product_update`` instead of ``obj.save()``, so events are published."""
        data = form.cleaned_data
        if change:
            changes: dict[str, Any] = {field: data[field] for field in form.changed_data if field != "category"}
            if "category" in form.changed_data:
                changes["category_slug"] = data["category"].slug if data["category"] is not None else None
            product_update(product=obj, **changes)
            return
        product = product_create(
            sku=data["sku"],
            name=data["name"],
            price=data["price"],
            currency=data["currency"],
            description=data["description"],
            category_slug=data["category"].slug if data["category"] is not None else None,
        )
        # The admin goes on to log and redirect with ``obj``: make it the stored product.
        obj.pk = product.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def has_delete_permission(self, request: HttpRequest, obj: Product | None = None) -> bool:
        return False  # products are soft-deleted with the action below, never removed

    @admin.action(description="Deactivate selected products (soft delete)", permissions=["change"])
    def deactivate_products(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        products = list(queryset.filter(is_active=True).order_by("pk"))
        for product in products:
            product_delete(product=product)
        self.message_user(request, f"Deactivated {len(products)} product(s).", messages.SUCCESS)
