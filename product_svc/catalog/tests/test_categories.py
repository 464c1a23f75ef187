import pytest
from django.core.management import call_command

from catalog.models import Category

pytestmark = pytest.mark.django_db


def test_categories_are_listed_by_name_with_pagination(client):
    Category.objects.create(slug="toys", name="Toys")
    Category.objects.create(slug="books", name="Books")
    response = client.get("/api/v1/categories")
    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [{"slug": "books", "name": "Books"}, {"slug": "toys", "name": "Toys"}],
    }


def test_page_size_is_capped_at_100(client):
    Category.objects.bulk_create(Category(slug=f"c{n:03}", name=f"C {n:03}") for n in range(105))
    body = client.get("/api/v1/categories?page_size=500").json()
    assert body["count"] == 105
    assert len(body["results"]) == 100


def test_page_past_the_end_is_404_problem(client):
    response = client.get("/api/v1/categories?page=9")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    call_command("seed_demo")
    assert sorted(Category.objects.values_list("slug", flat=True)) == [
        "books",
        "electronics",
        "home-kitchen",
        "outdoors",
        "toys",
    ]
