"""The staff inventory API (API.md, "Inventory"): parse, call a service or selector, serialise.

Every route is staff-only by the shared route table (:mod:`shared.access`), applied by the
default permission. A product id that is not a UUID is answered like an unknown one: 404.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.models import Movement, StockItem
from inventory.selectors import movement_list, stock_item_get, stock_item_list
from inventory.serializers import AdjustmentInput, MovementOutput, StockLevelOutput
from inventory.services import stock_adjust
from shared.errors import found_by_id
from shared.jwt_auth import Principal, caller

PRODUCT_ID = OpenApiParameter("product_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The product's id.")
LOW_STOCK = OpenApiParameter(
    "low_stock", str, enum=["true", "false"], description="true: only products whose available <= their threshold."
)

LOW_STOCK_INVALID = OpenApiResponse(description="low_stock is neither true nor false (problem+json with errors).")
NOT_FOUND = OpenApiResponse(description="No stock is kept for this product id (problem+json).")


def stock_item_or_404(product_id: str) -> StockItem:
    return found_by_id(
        product_id, lambda parsed: stock_item_get(product_id=parsed), missing="No stock is kept for this product id."
    )


@extend_schema_view(
    get=extend_schema(parameters=[LOW_STOCK], responses={200: StockLevelOutput(many=True), 400: LOW_STOCK_INVALID})
)
class StockListApi(generics.ListAPIView[StockItem]):
    serializer_class = StockLevelOutput

    def get_queryset(self) -> QuerySet[StockItem]:
        low_stock = self.request.query_params.get("low_stock")
        if low_stock not in (None, "true", "false"):
            raise exceptions.ValidationError({"low_stock": ["Must be true or false."]})
        return stock_item_list(low_stock=low_stock == "true")


class StockDetailApi(APIView):
    @extend_schema(parameters=[PRODUCT_ID], responses={200: StockLevelOutput, 404: NOT_FOUND})
    def get(self, request: Request, product_id: str) -> Response:
        return Response(StockLevelOutput(stock_item_or_404(product_id)).data)


class AdjustmentApi(APIView):
    @extend_schema(
        parameters=[PRODUCT_ID],
        request=AdjustmentInput,
        responses={
            201: StockLevelOutput,
            400: OpenApiResponse(description="Invalid or unknown fields (problem+json with errors)."),
            404: NOT_FOUND,
            409: OpenApiResponse(description="Less would remain on hand than is reserved (problem+json)."),
        },
    )
    def post(self, request: Request, product_id: str) -> Response:
        stock_item = stock_item_or_404(product_id)
        data = AdjustmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        stock_item = stock_adjust(
            product_id=stock_item.product_id, actor=caller(request, Principal).id, **data.validated_data
        )
        return Response(StockLevelOutput(stock_item).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(parameters=[PRODUCT_ID], responses={200: MovementOutput(many=True), 404: NOT_FOUND})
)
class MovementListApi(generics.ListAPIView[Movement]):
    serializer_class = MovementOutput

    def get_queryset(self) -> QuerySet[Movement]:
        return movement_list(stock_item=stock_item_or_404(self.kwargs["product_id"]))
