"""Writes to the catalog."""

from catalog.models import Category


def category_ensure(*, slug: str, name: str) -> Category:
    """The category ``slug``, created with ``name`` if absent (demo data, idempotent)."""
    category, _ = Category.objects.get_or_create(slug=slug, defaults={"name": name})
    return category
