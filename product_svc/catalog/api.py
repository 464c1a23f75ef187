from rest_framework import generics

from catalog.selectors import category_list
from catalog.serializers import CategoryOutput


class CategoryListApi(generics.ListAPIView):  # type: ignore[type-arg]
    """``GET /api/v1/categories``: public, paginated."""

    serializer_class = CategoryOutput

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return category_list()
