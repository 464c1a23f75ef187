"""Input and output shapes of the catalog API (no logic: the services and selectors decide)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from catalog.models import Category, Product
from catalog.selectors import ORDERINGS
from shared.serializers import StrictInput

CURRENCY_PATTERN = r"^[A-Z]{3}$"
TRUE_OR_FALSE = ["true", "false"]


class CategoryOutput(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["slug", "name"]


class CategoryInput(StrictInput):
    slug = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)


def _price_field(**kwargs: Any) -> serializers.DecimalField:
    # Twelve digits, two of them decimals: the column's own limits, so no value reaches the database it would refuse.
    return serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal(0), **kwargs)


class ProductListQuery(serializers.Serializer[Any]):
    """The list's query parameters; ``page`` and ``page_size`` belong to the pagination, others are ignored."""

    search = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Part of the name, description or SKU (any case)."
    )
    category = serializers.SlugField(required=False, max_length=100, help_text="A category slug.")
    min_price = _price_field(required=False, help_text='Lowest price, a decimal string such as "10.00".')
    max_price = _price_field(required=False, help_text='Highest price, a decimal string such as "99.99".')
    in_stock = serializers.ChoiceField(
        choices=TRUE_OR_FALSE, required=False, help_text="true: available > 0; false: none available."
    )
    is_active = serializers.ChoiceField(
        choices=TRUE_OR_FALSE, required=False, help_text="Staff only; others always see active products alone."
    )
    ordering = serializers.ChoiceField(
        choices=list(ORDERINGS), required=False, help_text="Default -created_at (newest first)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"min_price": ["Must not be greater than max_price."]})
        return attrs

    def filters(self) -> dict[str, Any]:
        """The validated parameters as :func:`catalog.selectors.product_list` keywords."""
        data = dict(self.validated_data)
        for flag in ("in_stock", "is_active"):
            if flag in data:
                data[flag] = data[flag] == "true"
        return data


def _description_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(allow_blank=True, trim_whitespace=False, **kwargs)


def _currency_field(**kwargs: Any) -> serializers.RegexField:
    return serializers.RegexField(
        CURRENCY_PATTERN, error_messages={"invalid": "An ISO 4217 code in capitals, e.g. USD."}, **kwargs
    )


def _category_field(**kwargs: Any) -> serializers.SlugField:
    return serializers.SlugField(max_length=100, allow_null=True, help_text="A category slug, or null.", **kwargs)


class ProductInput(StrictInput):
    """``PUT`` (every field) and, with ``partial=True``, ``PATCH`` (any of them)."""

    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    description = _description_field()
    price = _price_field()
    currency = _currency_field()
    category = _category_field()

    def service_arguments(self) -> dict[str, Any]:
        """The validated fields named as the product services take them (``category`` -> ``category_slug``)."""
        data = dict(self.validated_data)
        if "category" in data:
            data["category_slug"] = data.pop("category")
        return data


class ProductCreateInput(ProductInput):
    """``POST``: description, currency and category may be left out (empty, USD, none)."""

    description = _description_field(required=False)
    currency = _currency_field(required=False)
    category = _category_field(required=False)


class ProductOutput(serializers.ModelSerializer[Product]):
    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = Product
        fields = [
            "id", "sku", "name", "description", "price", "currency", "category", "is_active",
            "available", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields  # output only; and so the schema marks every field as always present
