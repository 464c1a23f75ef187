from django.urls import path

from inventory.api import AdjustmentApi, MovementListApi, StockDetailApi, StockListApi

urlpatterns = [
    path("inventory", StockListApi.as_view(), name="stock-list"),
    path("inventory/<str:product_id>", StockDetailApi.as_view(), name="stock-detail"),
    path("inventory/<str:product_id>/adjustments", AdjustmentApi.as_view(), name="stock-adjustments"),
    path("inventory/<str:product_id>/movements", MovementListApi.as_view(), name="stock-movements"),
]
