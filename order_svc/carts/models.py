"""The cart's tables: one cart per customer, one line per product in it. Rules the database can hold are here.

A cart is the order before it is placed: the same limits as an order's lines (at most
:data:`~orders.models.MAX_LINES` lines, quantities 1 to :data:`~orders.models.MAX_QUANTITY`).
Nothing happens in ``save()``: every change goes through :mod:`carts.services`.
"""

from __future__ import annotations

from django.db import models
from orders.models import MAX_QUANTITY


class Cart(models.Model):
    """A signed-in customer's cart, keyed by the customer (the user's id in the user service).

    ``updated_at`` moves with every change of the cart or its lines: a cart untouched for
    ``CART_TTL_DAYS`` is deleted by the sweep (:func:`carts.services.cart_delete_stale`).
    The row is also the lock every change of the cart takes.
    """

    customer_id = models.UUIDField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["updated_at"], name="cart_updated_idx")]

    def __str__(self) -> str:
        return f"Cart of {self.customer_id}"


class CartLine(models.Model):
    """A product in a cart and how many of it, with what the catalog said of it when it was added.

    ``unit_price`` is the price when the line was added: the cart shows the live price, and warns
    when it differs from this one. ``sku``, ``name`` and ``currency`` name the line should the
    catalog stop knowing the product.
    """

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product_id = models.UUIDField()
    quantity = models.PositiveIntegerField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product_id"], name="cart_line_product_once"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1, quantity__lte=MAX_QUANTITY), name="cart_line_quantity_range"
            ),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="cart_line_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"
