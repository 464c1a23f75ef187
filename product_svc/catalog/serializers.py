from rest_framework import serializers

from catalog.models import Category


class CategoryOutput(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["slug", "name"]
