"""Reads of the catalog."""

from django.db.models import QuerySet

from catalog.models import Category


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("name", "slug")
