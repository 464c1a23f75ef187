from decimal import Decimal

import factory

from catalog.models import Category, Product


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    """A stored product written directly (no event): for reads and database-constraint tests."""

    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05}")
    name = factory.Sequence(lambda n: f"Product {n}")
    description = ""
    price = Decimal("9.99")
    currency = "USD"
    category = factory.SubFactory(CategoryFactory)
    is_active = True
    available = 0
