import pytest
from django.core.management import call_command

from catalog.models import Category
from shared.testing.tokens import access_token

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


def test_page_size_over_100_is_refused(client):
    Category.objects.bulk_create(Category(slug=f"c{n:03}", name=f"C {n:03}") for n in range(105))
    assert len(client.get("/api/v1/categories?page_size=100").json()["results"]) == 100
    response = client.get("/api/v1/categories?page_size=500")
    assert response.status_code == 400
    assert response.json()["errors"] == {"page_size": ["A whole number from 1 to 100."]}


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


def test_staff_creates_a_category(client):
    response = client.post(
        "/api/v1/categories",
        {"slug": "garden", "name": "Garden"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token(role='staff')}",
    )
    assert response.status_code == 201
    assert response.json() == {"slug": "garden", "name": "Garden"}
    assert Category.objects.get(slug="garden").name == "Garden"


def test_duplicate_category_slug_is_409(client):
    Category.objects.create(slug="garden", name="Garden")
    response = client.post(
        "/api/v1/categories",
        {"slug": "garden", "name": "Other"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token(role='staff')}",
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"


def test_invalid_category_is_400_with_field_errors(client):
    response = client.post(
        "/api/v1/categories",
        {"slug": "not a slug!", "name": ""},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token(role='staff')}",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"slug", "name"}


def test_customer_may_not_create_categories(client):
    response = client.post(
        "/api/v1/categories",
        {"slug": "garden", "name": "Garden"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token(role='customer')}",
    )
    assert response.status_code == 403
    assert not Category.objects.filter(slug="garden").exists()


def test_anonymous_may_not_create_categories(client):
    response = client.post("/api/v1/categories", {"slug": "garden", "name": "Garden"}, content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
