from django.urls import path

from carts.api import CartApi, CartCheckoutApi, CartItemApi, CartMergeApi

api_urlpatterns = [
    path("cart", CartApi.as_view(), name="cart"),
    path("cart/items/<str:product_id>", CartItemApi.as_view(), name="cart-item"),
    path("cart/merge", CartMergeApi.as_view(), name="cart-merge"),
    path("cart/checkout", CartCheckoutApi.as_view(), name="cart-checkout"),
]
