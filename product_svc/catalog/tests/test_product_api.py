"""GET, POST, PUT, PATCH and DELETE of single products: staff writes, everyone reads active products."""

import uuid
from decimal import Decimal

import pytest

from catalog.models import Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from shared.errors import PROBLEM_CONTENT_TYPE
from shared.models import OutboxEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/products"
FIELDS = {
    "id", "sku", "name", "description", "price", "currency", "category", "is_active", "available",
    "created_at", "updated_at",
}  # fmt: skip


def detail(product) -> str:
    return f"{URL}/{product.pk}"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["status"] == status
    return body


def event_types() -> list[str]:
    return list(OutboxEvent.objects.order_by("created_at", "id").values_list("event_type", flat=True))


# Reading one product


@pytest.mark.parametrize("viewer", ["anonymous", "as_customer", "as_staff"])
def test_anyone_reads_an_active_product(request, viewer):
    product = ProductFactory(sku="BK-1", price=Decimal("19.99"), category=CategoryFactory(slug="books"))

    response = request.getfixturevalue(viewer).get(detail(product))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS
    assert (body["id"], body["sku"], body["price"], body["category"]) == (str(product.pk), "BK-1", "19.99", "books")


@pytest.mark.parametrize("viewer", ["anonymous", "as_customer"])
def test_an_inactive_product_is_not_found_for_non_staff(request, viewer):
    product = ProductFactory(is_active=False)

    body = assert_problem(request.getfixturevalue(viewer).get(detail(product)), 404)

    assert str(product.pk) not in body["detail"]


def test_staff_read_an_inactive_product(as_staff):
    product = ProductFactory(is_active=False)

    response = as_staff.get(detail(product))

    assert response.status_code == 200
    assert response.json()["is_active"] is False


@pytest.mark.parametrize("product_id", [str(uuid.uuid4()), "not-a-uuid", "123"])
def test_an_absent_or_malformed_id_is_404_problem(anonymous, product_id):
    assert_problem(anonymous.get(f"{URL}/{product_id}"), 404)


# Creating


def test_staff_create_a_product_with_only_the_required_fields(as_staff):
    response = as_staff.post(URL, {"sku": "NEW-1", "name": "Kite", "price": "12.50"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    product = Product.objects.get()
    assert body == {
        "id": str(product.pk),
        "sku": "NEW-1",
        "name": "Kite",
        "description": "",
        "price": "12.50",
        "currency": "USD",
        "category": None,
        "is_active": True,
        "available": 0,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert body["created_at"].endswith("Z")
    assert event_types() == ["product.created"]


def test_staff_create_a_product_with_every_field(as_staff):
    CategoryFactory(slug="toys")

    response = as_staff.post(
        URL,
        {"sku": "NEW-1", "name": "Kite", "description": "Flies.", "price": "7", "currency": "EUR", "category": "toys"},
        format="json",
    )

    assert response.status_code == 201, response.content
    stored = Product.objects.select_related("category").get()
    assert (stored.description, stored.price, stored.currency, stored.category.slug) == (
        "Flies.",
        Decimal("7.00"),
        "EUR",
        "toys",
    )
    assert response.json()["price"] == "7.00"


@pytest.mark.parametrize(("field", "value"), [("price", 7), ("name", 0), ("sku", True)])
def test_a_value_of_another_json_type_is_a_400_naming_the_field(as_staff, field, value):
    body = {"sku": "NEW-1", "name": "Kite", "price": "7.00"} | {field: value}

    response = as_staff.post(URL, body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Product.objects.exists()


def test_a_duplicate_sku_is_409_problem(as_staff):
    ProductFactory(sku="DUP-1", is_active=False)

    response = as_staff.post(URL, {"sku": "DUP-1", "name": "Again", "price": "1.00"}, format="json")

    body = assert_problem(response, 409)
    assert body["type"].endswith("/duplicate-sku")
    assert "errors" not in body
    assert Product.objects.count() == 1
    assert event_types() == []


@pytest.mark.parametrize("price", ["abc", "-0.01", "1.001", "10000000000.00", None, "", "NaN"])
def test_an_invalid_price_is_400_naming_it(as_staff, price):
    response = as_staff.post(URL, {"sku": "X-1", "name": "X", "price": price}, format="json")

    assert list(assert_problem(response, 400)["errors"]) == ["price"]
    assert Product.objects.count() == 0


@pytest.mark.parametrize("currency", ["usd", "US", "EURO", "", 978, None])
def test_an_invalid_currency_is_400_naming_it(as_staff, currency):
    response = as_staff.post(URL, {"sku": "X-1", "name": "X", "price": "1", "currency": currency}, format="json")

    assert list(assert_problem(response, 400)["errors"]) == ["currency"]
    assert Product.objects.count() == 0


def test_an_unknown_category_is_400_naming_it(as_staff):
    response = as_staff.post(URL, {"sku": "X-1", "name": "X", "price": "1", "category": "nope"}, format="json")

    assert list(assert_problem(response, 400)["errors"]) == ["category"]
    assert Product.objects.count() == 0


def test_missing_required_fields_are_each_named(as_staff):
    response = as_staff.post(URL, {}, format="json")

    assert set(assert_problem(response, 400)["errors"]) == {"sku", "name", "price"}


@pytest.mark.parametrize("field", ["available", "is_active", "id", "colour"])
def test_a_field_that_cannot_be_written_is_400_naming_it(as_staff, field):
    response = as_staff.post(URL, {"sku": "X-1", "name": "X", "price": "1", field: 5}, format="json")

    assert list(assert_problem(response, 400)["errors"]) == [field]
    assert Product.objects.count() == 0


def test_a_body_that_is_not_a_json_object_is_400(as_staff):
    response = as_staff.post(URL, ["sku", "X-1"], format="json")

    assert_problem(response, 400)


def test_malformed_json_is_400_problem(as_staff):
    response = as_staff.post(URL, "{not json", content_type="application/json")

    assert_problem(response, 400)


# Changing


def test_staff_patch_some_fields(as_staff):
    product = ProductFactory(sku="P-1", name="Kite", price=Decimal("10.00"), category=CategoryFactory(slug="toys"))

    response = as_staff.patch(detail(product), {"price": "12.25", "name": "Big kite"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["sku"], body["name"], body["price"], body["category"]) == ("P-1", "Big kite", "12.25", "toys")
    stored = Product.objects.get()
    assert (stored.name, stored.price) == ("Big kite", Decimal("12.25"))
    assert event_types() == ["product.updated"]


def test_patching_the_category_to_null_removes_it(as_staff):
    product = ProductFactory(category=CategoryFactory(slug="toys"))

    response = as_staff.patch(detail(product), {"category": None}, format="json")

    assert response.json()["category"] is None
    assert Product.objects.get().category is None


def test_staff_change_the_sku(as_staff):
    product = ProductFactory(sku="OLD-1")

    response = as_staff.patch(detail(product), {"sku": "NEW-1"}, format="json")

    assert response.json()["sku"] == "NEW-1"
    assert Product.objects.get().sku == "NEW-1"


@pytest.mark.parametrize("method", ["patch", "put"])
def test_changing_the_sku_to_a_taken_one_is_409(as_staff, method):
    ProductFactory(sku="TAKEN")
    product = ProductFactory(sku="MINE", name="Mine")
    body = {"sku": "TAKEN", "name": "Renamed", "description": "", "price": "1.00", "currency": "USD", "category": None}

    response = getattr(as_staff, method)(detail(product), body, format="json")

    assert_problem(response, 409)
    assert Product.objects.get(pk=product.pk).name == "Mine"
    assert event_types() == []


def test_patch_refuses_unknown_fields_and_changes_nothing(as_staff):
    product = ProductFactory(name="Kite", available=3)

    response = as_staff.patch(detail(product), {"name": "Other", "available": 99}, format="json")

    assert list(assert_problem(response, 400)["errors"]) == ["available"]
    assert (Product.objects.get().name, Product.objects.get().available) == ("Kite", 3)


def test_an_empty_patch_changes_nothing(as_staff):
    product = ProductFactory(name="Kite")

    response = as_staff.patch(detail(product), {}, format="json")

    assert response.json()["name"] == "Kite"
    assert event_types() == []


def test_staff_put_every_field(as_staff):
    CategoryFactory(slug="toys")
    product = ProductFactory(sku="P-1", category=None)
    body = {
        "sku": "P-2",
        "name": "Kite",
        "description": "Flies.",
        "price": "3.50",
        "currency": "GBP",
        "category": "toys",
    }

    response = as_staff.put(detail(product), body, format="json")

    assert response.status_code == 200, response.content
    assert {field: response.json()[field] for field in body} == body
    assert event_types() == ["product.updated"]


def test_put_needs_every_writable_field(as_staff):
    product = ProductFactory(name="Kite")

    response = as_staff.put(detail(product), {"name": "Other", "price": "1.00"}, format="json")

    assert set(assert_problem(response, 400)["errors"]) == {"sku", "description", "currency", "category"}
    assert Product.objects.get().name == "Kite"


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_writing_an_absent_product_is_404(as_staff, method):
    response = getattr(as_staff, method)(f"{URL}/{uuid.uuid4()}", {}, format="json")

    assert_problem(response, 404)


def test_staff_may_edit_an_inactive_product(as_staff):
    product = ProductFactory(is_active=False, name="Old")

    response = as_staff.patch(detail(product), {"name": "Still old"}, format="json")

    assert response.status_code == 200
    assert response.json()["is_active"] is False


# Deleting


def test_delete_soft_deletes_and_keeps_the_product(as_staff, anonymous):
    product = ProductFactory()

    response = as_staff.delete(detail(product))

    assert response.status_code == 204
    assert response.content == b""
    assert Product.objects.get(pk=product.pk).is_active is False
    assert event_types() == ["product.deleted"]
    assert_problem(anonymous.get(detail(product)), 404)
    assert as_staff.get(detail(product)).json()["is_active"] is False


def test_deleting_twice_is_204_with_one_event(as_staff):
    product = ProductFactory()

    as_staff.delete(detail(product))
    response = as_staff.delete(detail(product))

    assert response.status_code == 204
    assert event_types() == ["product.deleted"]


# Who may write

WRITES = [
    ("post", lambda product: URL),
    ("put", detail),
    ("patch", detail),
    ("delete", detail),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_anonymous_writes_are_401_with_a_bearer_challenge(anonymous, method, path):
    product = ProductFactory(name="Kite")

    response = getattr(anonymous, method)(path(product), {"sku": "X-1", "name": "X", "price": "1"}, format="json")

    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert list(Product.objects.values_list("name", "is_active")) == [("Kite", True)]
    assert event_types() == []


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_customer_writes_are_403(as_customer, method, path):
    product = ProductFactory(name="Kite")

    response = getattr(as_customer, method)(path(product), {"sku": "X-1", "name": "X", "price": "1"}, format="json")

    assert_problem(response, 403)
    assert list(Product.objects.values_list("name", "is_active")) == [("Kite", True)]
    assert event_types() == []


def test_a_method_the_route_does_not_have_is_405_problem(as_staff):
    assert_problem(as_staff.post(detail(ProductFactory()), {}, format="json"), 405)


def test_an_invalid_token_is_401_even_on_a_public_read(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")

    response = anonymous.get(URL)

    assert_problem(response, 401)
