from rest_framework import serializers

from catalog.models import Category


class CategoryOutput(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["slug", "name"]


class CategoryInput(serializers.Serializer[dict[str, str]]):
    slug = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)
