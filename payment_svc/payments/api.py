"""The staff payment API (API.md, "Payments"): parse, call a selector, serialise.

Staff-only by the shared route table (:mod:`shared.access`). An order id that is not a UUID is
answered like an unknown one: 404.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.selectors import payment_get_for_order
from payments.serializers import PaymentOutput
from shared.errors import found_by_id

ORDER_ID = OpenApiParameter("order_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The order's id.")
MISSING = "No payment for this order id: the payment service has not heard of it."


class PaymentDetailApi(APIView):
    @extend_schema(
        parameters=[ORDER_ID],
        responses={200: PaymentOutput, 404: OpenApiResponse(description=f"{MISSING} (problem+json)")},
    )
    def get(self, request: Request, order_id: str) -> Response:
        return Response(
            PaymentOutput(
                found_by_id(order_id, lambda parsed: payment_get_for_order(order_id=parsed), missing=MISSING)
            ).data
        )
