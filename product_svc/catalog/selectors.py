"""Reads of the catalog."""

from collections.abc import Iterable

from django.db.models import QuerySet

from catalog.models import Category, Product


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("name", "slug")


def product_skus_taken(*, skus: Iterable[str]) -> set[str]:
    """Which of ``skus`` already belong to a product, active or not."""
    return set(Product.objects.filter(sku__in=list(skus)).values_list("sku", flat=True))
