"""The catalog API (API.md, "Catalog"): parse, call a service or selector, serialise.

Who may call what is the shared route table (:mod:`shared.access`), applied by the default
permission: reads are public, writes are staff's. What a reader sees depends on who it is:
inactive (soft-deleted) products exist only for staff.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Category, Product
from catalog.selectors import category_list, product_get, product_list
from catalog.serializers import (
    CategoryInput,
    CategoryOutput,
    ProductCreateInput,
    ProductInput,
    ProductListQuery,
    ProductOutput,
)
from catalog.services import category_create, product_create, product_delete, product_update
from shared.access import is_staff
from shared.errors import found_by_id

NO_CONTENT = OpenApiResponse(description="Soft-deleted; no body.")
DUPLICATE_SKU = OpenApiResponse(description="Another product has this SKU.")
PRODUCT_ID = OpenApiParameter("product_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The product's id.")


class CategoryListApi(generics.ListAPIView[Category]):
    """``GET /api/v1/categories`` (public, paginated); ``POST`` creates one (staff, per the access table)."""

    serializer_class = CategoryOutput

    def get_queryset(self) -> QuerySet[Category]:
        return category_list()

    @extend_schema(
        request=CategoryInput,
        responses={201: CategoryOutput, 409: OpenApiResponse(description="A category with this slug exists.")},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CategoryInput(data=request.data)
        data.is_valid(raise_exception=True)
        category = category_create(**data.validated_data)
        return Response(CategoryOutput(category).data, status=status.HTTP_201_CREATED)


class ProductListApi(generics.ListAPIView[Product]):
    """``GET /api/v1/products`` (public, filtered, paginated); ``POST`` adds a product (staff)."""

    serializer_class = ProductOutput

    @extend_schema(parameters=[ProductListQuery])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Product]:
        query = ProductListQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return product_list(include_inactive=is_staff(self.request.user), **query.filters())

    @extend_schema(request=ProductCreateInput, responses={201: ProductOutput, 409: DUPLICATE_SKU})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ProductCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        product = product_create(**data.service_arguments())
        return Response(ProductOutput(product).data, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[PRODUCT_ID])
class ProductDetailApi(APIView):
    """One product: anyone reads an active one, staff read any and change or soft-delete it."""

    @extend_schema(responses={200: ProductOutput})
    def get(self, request: Request, product_id: str) -> Response:
        return Response(ProductOutput(self._product(request, product_id)).data)

    @extend_schema(request=ProductInput, responses={200: ProductOutput, 409: DUPLICATE_SKU})
    def put(self, request: Request, product_id: str) -> Response:
        return self._update(request, product_id, partial=False)

    @extend_schema(request=ProductInput(partial=True), responses={200: ProductOutput, 409: DUPLICATE_SKU})
    def patch(self, request: Request, product_id: str) -> Response:
        return self._update(request, product_id, partial=True)

    @extend_schema(responses={204: NO_CONTENT})
    def delete(self, request: Request, product_id: str) -> Response:
        product_delete(product=self._product(request, product_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, product_id: str, *, partial: bool) -> Response:
        product = self._product(request, product_id)
        data = ProductInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        product = product_update(product=product, **data.service_arguments())
        return Response(ProductOutput(product).data)

    @staticmethod
    def _product(request: Request, product_id: str) -> Product:
        include_inactive = is_staff(request.user)
        return found_by_id(
            product_id,
            lambda parsed: product_get(product_id=parsed, include_inactive=include_inactive),
            missing="No product has this id.",
        )
