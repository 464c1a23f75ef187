"""The order API (API.md, "Orders"): parse, call a service or selector, serialise.

Who may call what is the shared route table (:mod:`shared.access`): every route needs a
signed-in user, ``/status`` and ``/refund`` need staff. Whose order it is, is checked here: another
customer's order is a 404, exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.card_data import check_no_card_data
from orders.errors import InvalidOrder
from orders.models import MAX_IDEMPOTENCY_KEY_LENGTH, Order
from orders.selectors import order_get_for, order_history, order_list_for
from orders.serializers import (
    CancelInput,
    OrderFilterInput,
    OrderOutput,
    PlaceOrderInput,
    StatusChangeInput,
    StatusHistoryOutput,
)
from orders.services import (
    LineRequest,
    Placement,
    order_cancel,
    order_place,
    order_request_refund,
    order_transition,
)
from shared.access import is_staff
from shared.errors import found_by_id
from shared.jwt_auth import Principal, caller

IDEMPOTENCY_HEADER = "Idempotency-Key"

ORDER_ID = OpenApiParameter("order_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The order's id.")
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    # Some text that is not only blanks (blanks around it are not part of the key).
    {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH, "pattern": r"\S"},
    OpenApiParameter.HEADER,
    required=True,
    description=(
        f"Up to {MAX_IDEMPOTENCY_KEY_LENGTH} characters, new for every new order. Repeating a request with "
        "its key returns the order the first one made (200); the key with a different body is a 409."
    ),
)
ILLEGAL_TRANSITION = OpenApiResponse(description="The order's status does not allow this change.")


def visible_order(request: Request, order_id: str) -> Order:
    """The order if the caller may see it (its customer, or staff); a 404 otherwise."""
    principal = caller(request, Principal)
    return found_by_id(
        order_id,
        lambda parsed: order_get_for(order_id=parsed, viewer_id=principal.id, viewer_is_staff=is_staff(principal)),
        missing="No order has this id.",
    )


def idempotency_key(request: Request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        raise InvalidOrder(
            f"The {IDEMPOTENCY_HEADER} header is required.",
            errors={IDEMPOTENCY_HEADER: [f"Send a new unique {IDEMPOTENCY_HEADER} (e.g. a UUID) with each order."]},
        )
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidOrder(
            f"The {IDEMPOTENCY_HEADER} header is too long.",
            errors={IDEMPOTENCY_HEADER: [f"Use at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters."]},
        )
    return key


@extend_schema_view(
    get=extend_schema(
        description="The caller's orders, newest first; staff see every order and may filter by customer.",
        parameters=[OrderFilterInput],
    )
)
class OrderListApi(generics.ListAPIView[Order]):
    """``GET``: the caller's orders (staff: all), newest first. ``POST``: place an order."""

    serializer_class = OrderOutput

    def get_queryset(self) -> QuerySet[Order]:
        principal = caller(self.request, Principal)
        filters = OrderFilterInput(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return order_list_for(
            viewer_id=principal.id,
            viewer_is_staff=is_staff(principal),
            customer_id=filters.validated_data.get("customer"),
            status=filters.validated_data.get("status"),
        )

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=PlaceOrderInput,
        responses={
            201: OrderOutput,
            200: OrderOutput,
            403: OpenApiResponse(description="This account is deactivated and cannot place orders."),
            400: OpenApiResponse(
                description="The body is invalid, or carries card details (send a payment_method token instead)."
            ),
            409: OpenApiResponse(description="This Idempotency-Key came with a different order."),
            503: OpenApiResponse(description="The product service is unavailable; retry shortly."),
        },
        description="201 with a new pending order; 200 with the earlier order when the key is repeated.",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = idempotency_key(request)
        check_no_card_data(request.data)
        data = PlaceOrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        placement = order_place(
            customer_id=caller(request, Principal).id,
            idempotency_key=key,
            lines=[
                LineRequest(product_id=item["product_id"], quantity=item["quantity"])
                for item in data.validated_data["items"]
            ],
            payment_method=data.validated_data["payment_method"],
            shipping_address=data.validated_data.get("shipping_address"),
        )
        return placement_response(placement)


class OrderDetailApi(APIView):
    @extend_schema(parameters=[ORDER_ID], responses={200: OrderOutput})
    def get(self, request: Request, order_id: str) -> Response:
        return Response(OrderOutput(visible_order(request, order_id)).data)


class OrderHistoryApi(APIView):
    @extend_schema(parameters=[ORDER_ID], responses={200: StatusHistoryOutput(many=True)})
    def get(self, request: Request, order_id: str) -> Response:
        history = order_history(order=visible_order(request, order_id))
        return Response(StatusHistoryOutput(history, many=True).data)


class OrderCancelApi(APIView):
    @extend_schema(parameters=[ORDER_ID], request=CancelInput, responses={200: OrderOutput, 409: ILLEGAL_TRANSITION})
    def post(self, request: Request, order_id: str) -> Response:
        order = visible_order(request, order_id)
        data = CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        principal = caller(request, Principal)
        default = "Cancelled by staff." if is_staff(principal) else "Cancelled by the customer."
        order = order_cancel(order=order, by=principal.id, reason=data.validated_data.get("reason") or default)
        return Response(OrderOutput(order).data)


class OrderStatusApi(APIView):
    """Staff move a confirmed order on: ``shipped``, then ``delivered``."""

    @extend_schema(
        parameters=[ORDER_ID], request=StatusChangeInput, responses={200: OrderOutput, 409: ILLEGAL_TRANSITION}
    )
    def post(self, request: Request, order_id: str) -> Response:
        order = visible_order(request, order_id)
        data = StatusChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_transition(order=order, to=data.validated_data["status"], by=caller(request, Principal).id)
        return Response(OrderOutput(order).data)


class OrderRefundApi(APIView):
    """Staff refund a delivered order: the payment service refunds it, then the order becomes ``refunded``."""

    @extend_schema(
        parameters=[ORDER_ID],
        request=None,
        responses={202: OrderOutput, 409: ILLEGAL_TRANSITION},
        description="202 with the order, still delivered: it becomes refunded once the payment service refunded it.",
    )
    def post(self, request: Request, order_id: str) -> Response:
        order = order_request_refund(order=visible_order(request, order_id), by=caller(request, Principal).id)
        return Response(OrderOutput(order).data, status=status.HTTP_202_ACCEPTED)


def placement_response(placement: Placement) -> Response:
    """201 with the new order, or 200 with the order an Idempotency-Key made before (placing or checking out)."""
    answer = status.HTTP_201_CREATED if placement.created else status.HTTP_200_OK
    return Response(OrderOutput(placement.order).data, status=answer)
