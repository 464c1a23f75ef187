from django.urls import path

from orders.api import (
    OrderCancelApi,
    OrderDetailApi,
    OrderHistoryApi,
    OrderListApi,
    OrderRefundApi,
    OrderStatusApi,
)

api_urlpatterns = [
    path("orders", OrderListApi.as_view(), name="order-list"),
    path("orders/<str:order_id>", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:order_id>/history", OrderHistoryApi.as_view(), name="order-history"),
    path("orders/<str:order_id>/cancel", OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<str:order_id>/status", OrderStatusApi.as_view(), name="order-status"),
    path("orders/<str:order_id>/refund", OrderRefundApi.as_view(), name="order-refund"),
]
