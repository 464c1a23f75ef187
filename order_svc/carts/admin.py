"""Carts in the admin: read-only, with their lines inline. Customers change their carts through the API only."""

from __future__ import annotations

from django.contrib import admin
from orders.admin import ReadOnlyInline

from carts.models import Cart, CartLine
from shared.admin import ReadOnlyAdmin


class CartLineInline(ReadOnlyInline):
    model = CartLine
    fields = readonly_fields = ("product_id", "sku", "name", "unit_price", "currency", "quantity", "added_at")


@admin.register(Cart)
class CartAdmin(ReadOnlyAdmin[Cart]):
    """Who has what in their cart; the price shown per line is the one it was added at."""

    list_display = ["customer_id", "line_count", "created_at", "updated_at"]
    search_fields = ["customer_id"]
    date_hierarchy = "updated_at"
    fields = readonly_fields = ("customer_id", "created_at", "updated_at")
    inlines = [CartLineInline]

    @admin.display(description="Lines")
    def line_count(self, cart: Cart) -> int:
        return cart.lines.count()
