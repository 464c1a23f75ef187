from django.urls import path

from payments.api import PaymentDetailApi

urlpatterns = [
    path("payments/<str:order_id>", PaymentDetailApi.as_view(), name="payment-detail"),
]
