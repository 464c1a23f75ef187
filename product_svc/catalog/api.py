from django.db.models import QuerySet
from rest_framework import generics

from catalog.models import Category
from catalog.selectors import category_list
from catalog.serializers import CategoryOutput


class CategoryListApi(generics.ListAPIView[Category]):
    """``GET /api/v1/categories``: public, paginated."""

    serializer_class = CategoryOutput

    def get_queryset(self) -> QuerySet[Category]:
        return category_list()
