from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Category
from catalog.selectors import category_list
from catalog.serializers import CategoryInput, CategoryOutput
from catalog.services import category_create


class CategoryListApi(generics.ListAPIView[Category]):
    """``GET /api/v1/categories`` (public, paginated); ``POST`` creates one (staff, per the access table)."""

    serializer_class = CategoryOutput

    def get_queryset(self) -> QuerySet[Category]:
        return category_list()

    @extend_schema(request=CategoryInput, responses={201: CategoryOutput})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CategoryInput(data=request.data)
        data.is_valid(raise_exception=True)
        category = category_create(**data.validated_data)
        return Response(CategoryOutput(category).data, status=status.HTTP_201_CREATED)
