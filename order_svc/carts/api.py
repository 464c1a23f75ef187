"""The cart API (API.md, "Cart"): parse, call a service or selector, serialise.

Every route is the signed-in caller's own cart (the shared route table, :mod:`shared.access`, asks
for a signed-in user): no id names a cart, so no one reaches another customer's. Each answer but
the 204s is the cart priced now (:func:`carts.selectors.cart_priced`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from orders.api import IDEMPOTENCY_KEY, idempotency_key, placement_response
from orders.card_data import check_no_card_data
from orders.serializers import OrderOutput
from orders.services import LineRequest
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carts.selectors import cart_priced
from carts.serializers import CartOutput, CheckoutInput, MergeInput, QuantityInput
from carts.services import cart_checkout, cart_clear, cart_merge, cart_remove_line, cart_set_quantity
from shared.errors import found_by_id
from shared.jwt_auth import Principal, caller

PRODUCT_ID = OpenApiParameter(
    "product_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The product's id in the catalog."
)
PRODUCT_SERVICE_DOWN = OpenApiResponse(description="The product service is unavailable; retry shortly.")
NOT_SOLD = OpenApiResponse(description="No product has this id, or it is no longer sold.")
CART_REFUSED = OpenApiResponse(
    description="The cart would hold more than 50 products (`cart-full`) or mix currencies "
    "(`cart-currency-mismatch`); nothing changed."
)


def cart_answer(request: Request, *, skipped: Sequence[uuid.UUID] = ()) -> Response:
    return Response(CartOutput(cart_priced(customer_id=caller(request, Principal).id, skipped=skipped)).data)


def path_product_id(product_id: str) -> uuid.UUID:
    """The product id in the path; a malformed one is a 404, like an unknown product."""
    return found_by_id(product_id, lambda parsed: parsed, missing="No product has this id.")


class CartApi(APIView):
    @extend_schema(
        responses={200: CartOutput, 503: PRODUCT_SERVICE_DOWN},
        description="The caller's cart at today's prices and stock, with warnings; `items: []` when empty.",
    )
    def get(self, request: Request) -> Response:
        return cart_answer(request)

    @extend_schema(responses={204: None}, description="Empties the cart.")
    def delete(self, request: Request) -> Response:
        cart_clear(customer_id=caller(request, Principal).id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CartItemApi(APIView):
    @extend_schema(
        parameters=[PRODUCT_ID],
        request=QuantityInput,
        responses={200: CartOutput, 404: NOT_SOLD, 409: CART_REFUSED, 503: PRODUCT_SERVICE_DOWN},
        description="Sets how many of the product the cart holds (0 removes it); returns the cart.",
    )
    def put(self, request: Request, product_id: str) -> Response:
        product = path_product_id(product_id)
        data = QuantityInput(data=request.data)
        data.is_valid(raise_exception=True)
        cart_set_quantity(
            customer_id=caller(request, Principal).id, product_id=product, quantity=data.validated_data["quantity"]
        )
        return cart_answer(request)

    @extend_schema(
        parameters=[PRODUCT_ID],
        responses={200: CartOutput, 503: PRODUCT_SERVICE_DOWN},
        description="Removes the product from the cart (nothing happens when it is not there); returns the cart.",
    )
    def delete(self, request: Request, product_id: str) -> Response:
        cart_remove_line(customer_id=caller(request, Principal).id, product_id=path_product_id(product_id))
        return cart_answer(request)


class CartMergeApi(APIView):
    @extend_schema(
        request=MergeInput,
        responses={200: CartOutput, 409: CART_REFUSED, 503: PRODUCT_SERVICE_DOWN},
        description="Adds a guest's cart on sign-in: quantities add up (at most 1000 each); products no "
        "longer sold are left out, each with an `unavailable` warning. All or nothing. Returns the cart.",
    )
    def post(self, request: Request) -> Response:
        data = MergeInput(data=request.data)
        data.is_valid(raise_exception=True)
        items = [
            LineRequest(product_id=item["product_id"], quantity=item["quantity"])
            for item in data.validated_data["items"]
        ]
        skipped = cart_merge(customer_id=caller(request, Principal).id, items=items)
        return cart_answer(request, skipped=skipped)


class CartCheckoutApi(APIView):
    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=CheckoutInput,
        responses={
            201: OrderOutput,
            200: OrderOutput,
            400: OpenApiResponse(
                description="The body is invalid, carries card details (send a payment_method token instead), "
                "or a product in the cart can no longer be ordered."
            ),
            403: OpenApiResponse(description="This account is deactivated and cannot place orders."),
            409: OpenApiResponse(
                description="The cart is empty (`cart-empty`), changed during checkout (`cart-changed`), or this "
                "Idempotency-Key came with a different checkout or order."
            ),
            503: PRODUCT_SERVICE_DOWN,
        },
        description="Places the cart as an order, exactly as `POST /api/v1/orders` would, and empties the cart: "
        "201 with the new pending order; 200 with the earlier order when the key is repeated.",
    )
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        check_no_card_data(request.data)
        data = CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        placement = cart_checkout(
            customer_id=caller(request, Principal).id,
            idempotency_key=key,
            payment_method=data.validated_data["payment_method"],
            shipping_address=data.validated_data.get("shipping_address"),
        )
        return placement_response(placement)
