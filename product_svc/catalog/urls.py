from django.urls import path

from catalog.api import CategoryListApi

urlpatterns = [
    path("categories", CategoryListApi.as_view(), name="category-list"),
]
