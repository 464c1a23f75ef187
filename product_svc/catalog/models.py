from __future__ import annotations

import uuid

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper


class Category(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A catalog entry. Soft-deleted (``is_active=False``), never removed: orders keep referring to it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    # Indexed by product_category_active_idx, whose leading column also serves the foreign key's lookups.
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products", db_index=False
    )
    is_active = models.BooleanField(default=True)
    # Projection of inventory's stock, fed by inventory.changed; stock_version orders those updates.
    available = models.PositiveIntegerField(default=0)
    stock_version = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "sku"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="product_currency_iso"),
        ]
        # The list API's filters and orderings (catalog.selectors.product_list); catalog/tests/test_query_plans.py
        # proves the planner uses them. Search is a case-insensitive substring match (Django's icontains,
        # UPPER(column) LIKE UPPER(pattern)), which trigram GIN indexes on the same UPPER() expressions serve.
        indexes = [
            models.Index(fields=["is_active", "price"], name="product_active_price_idx"),
            models.Index(fields=["is_active", "-created_at"], name="product_active_newest_idx"),
            models.Index(fields=["is_active", "name"], name="product_active_name_idx"),
            models.Index(fields=["is_active", "available"], name="product_active_available_idx"),
            models.Index(fields=["category", "is_active"], name="product_category_active_idx"),
            GinIndex(OpClass(Upper("sku"), name="gin_trgm_ops"), name="product_sku_trgm_idx"),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="product_name_trgm_idx"),
            GinIndex(OpClass(Upper("description"), name="gin_trgm_ops"), name="product_description_trgm_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
