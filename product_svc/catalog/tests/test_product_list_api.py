"""GET /api/v1/products: filters, orderings, pagination and who sees inactive products."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from catalog.models import Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from shared.errors import PROBLEM_CONTENT_TYPE

pytestmark = pytest.mark.django_db

URL = "/api/v1/products"


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["sku"] for item in response.json()["results"]]


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def assert_bad_parameter(response, parameter: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["status"] == 400
    assert list(body["errors"]) == [parameter]


def created(product: Product, minutes_ago: int) -> Product:
    """Backdates ``product`` (``created_at`` is set on insert, so it is changed after)."""
    moment = datetime(2026, 1, 1, 12, tzinfo=UTC) - timedelta(minutes=minutes_ago)
    Product.objects.filter(pk=product.pk).update(created_at=moment)
    product.refresh_from_db()
    return product


def test_a_product_is_listed_with_exactly_the_public_fields(anonymous):
    product = ProductFactory(
        sku="BK-1",
        name="Maps",
        description="Old maps.",
        price=Decimal("19.90"),
        currency="EUR",
        category=CategoryFactory(slug="books"),
        available=4,
    )

    response = anonymous.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": str(product.id),
                "sku": "BK-1",
                "name": "Maps",
                "description": "Old maps.",
                "price": "19.90",
                "currency": "EUR",
                "category": "books",
                "is_active": True,
                "available": 4,
                "created_at": rfc3339(product.created_at),
                "updated_at": rfc3339(product.updated_at),
            }
        ],
    }


def test_a_product_without_a_category_has_a_null_category(anonymous):
    ProductFactory(category=None)

    assert anonymous.get(URL).json()["results"][0]["category"] is None


def test_newest_products_come_first_by_default(anonymous):
    created(ProductFactory(sku="OLD"), minutes_ago=30)
    created(ProductFactory(sku="NEW"), minutes_ago=1)
    created(ProductFactory(sku="MID"), minutes_ago=10)

    assert skus(anonymous.get(URL)) == ["NEW", "MID", "OLD"]


def test_products_created_at_the_same_moment_are_ordered_by_id(anonymous):
    products = [created(ProductFactory(), minutes_ago=5) for _ in range(4)]

    expected = [product.sku for product in sorted(products, key=lambda product: product.id)]
    assert skus(anonymous.get(URL)) == expected


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price", ["CHEAP", "MIDDLE", "DEAR"]),
        ("-price", ["DEAR", "MIDDLE", "CHEAP"]),
        ("name", ["DEAR", "MIDDLE", "CHEAP"]),  # Apple, Banana, Cherry
        ("-created_at", ["MIDDLE", "CHEAP", "DEAR"]),
    ],
)
def test_ordering(anonymous, ordering, expected):
    created(ProductFactory(sku="CHEAP", name="Cherry", price=Decimal("1.00")), minutes_ago=2)
    created(ProductFactory(sku="DEAR", name="Apple", price=Decimal("100.00")), minutes_ago=3)
    created(ProductFactory(sku="MIDDLE", name="Banana", price=Decimal("10.00")), minutes_ago=1)

    assert skus(anonymous.get(URL, {"ordering": ordering})) == expected


def test_equal_prices_are_ordered_by_id(anonymous):
    products = [ProductFactory(price=Decimal("5.00")) for _ in range(4)]

    expected = [product.sku for product in sorted(products, key=lambda product: product.id)]
    assert skus(anonymous.get(URL, {"ordering": "price"})) == expected
    assert skus(anonymous.get(URL, {"ordering": "-price"})) == expected


@pytest.mark.parametrize("ordering", ["created_at", "-name", "sku", "price,name", "PRICE"])
def test_an_unknown_ordering_is_400(anonymous, ordering):
    assert_bad_parameter(anonymous.get(URL, {"ordering": ordering}), "ordering")


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("ab-77", "AB-7700"),
        ("AB-77", "AB-7700"),
        ("lantern", "X-1"),
        ("LANTERN", "X-1"),
        ("brass", "X-2"),
        ("BrAsS", "X-2"),
    ],
)
def test_search_matches_part_of_the_sku_name_or_description_in_any_case(anonymous, term, expected):
    ProductFactory(sku="AB-7700", name="Plain", description="")
    ProductFactory(sku="X-1", name="Storm Lantern", description="")
    ProductFactory(sku="X-2", name="Plain", description="A solid brass body.")
    ProductFactory(sku="X-3", name="Unrelated", description="Nothing to see.")

    assert skus(anonymous.get(URL, {"search": term})) == [expected]


def test_search_finds_each_field_it_covers(anonymous):
    ProductFactory(sku="KEY-SKU", name="One", description="")
    ProductFactory(sku="N-1", name="The key name", description="")
    ProductFactory(sku="D-1", name="Two", description="Opens with a key.")
    ProductFactory(sku="NONE", name="Three", description="Nothing.")

    assert sorted(skus(anonymous.get(URL, {"search": "key"}))) == ["D-1", "KEY-SKU", "N-1"]


def test_search_treats_like_wildcards_as_plain_characters(anonymous):
    ProductFactory(sku="PCT", name="100% cotton")
    ProductFactory(sku="OTHER", name="Wool")

    assert skus(anonymous.get(URL, {"search": "%"})) == ["PCT"]
    assert skus(anonymous.get(URL, {"search": "_"})) == []


def test_empty_parameters_count_as_not_given(anonymous):
    """As an HTML form sends them (``?category=&in_stock=``): DRF reads an empty optional value as absent."""
    ProductFactory.create_batch(2)

    empty = dict.fromkeys(["search", "category", "min_price", "max_price", "in_stock", "ordering", "is_active"], "")
    assert len(skus(anonymous.get(URL, empty))) == 2


def test_a_blank_search_filters_nothing(anonymous):
    ProductFactory.create_batch(2)

    assert len(skus(anonymous.get(URL, {"search": "  "}))) == 2


def test_category_filter_keeps_that_category_only(anonymous):
    books = CategoryFactory(slug="books")
    toys = CategoryFactory(slug="toys")
    ProductFactory(sku="B-1", category=books)
    ProductFactory(sku="T-1", category=toys)
    ProductFactory(sku="NONE", category=None)

    assert skus(anonymous.get(URL, {"category": "books"})) == ["B-1"]


def test_an_unknown_category_matches_nothing(anonymous):
    ProductFactory()

    assert skus(anonymous.get(URL, {"category": "no-such-category"})) == []


def test_a_category_that_is_not_a_slug_is_400(anonymous):
    assert_bad_parameter(anonymous.get(URL, {"category": "not a slug!"}), "category")


def test_price_bounds_are_inclusive(anonymous):
    for cents in (499, 500, 1000, 1001):
        ProductFactory(sku=f"P{cents}", price=Decimal(cents) / 100)

    assert sorted(skus(anonymous.get(URL, {"min_price": "5.00", "max_price": "10.00"}))) == ["P1000", "P500"]
    assert sorted(skus(anonymous.get(URL, {"min_price": "10"}))) == ["P1000", "P1001"]
    assert sorted(skus(anonymous.get(URL, {"max_price": "4.99"}))) == ["P499"]
    assert skus(anonymous.get(URL, {"min_price": "5", "max_price": "5"})) == ["P500"]


@pytest.mark.parametrize("parameter", ["min_price", "max_price"])
@pytest.mark.parametrize("value", ["abc", "1.005", "-1", "NaN", "Infinity", "1e400", "12345678901", "1,5", " "])
def test_a_bad_price_bound_is_400_naming_the_parameter(anonymous, parameter, value):
    assert_bad_parameter(anonymous.get(URL, {parameter: value}), parameter)


def test_a_minimum_above_the_maximum_is_400(anonymous):
    assert_bad_parameter(anonymous.get(URL, {"min_price": "10.00", "max_price": "9.99"}), "min_price")


def test_in_stock_filters_on_available(anonymous):
    ProductFactory(sku="HAS", available=3)
    ProductFactory(sku="NONE", available=0)

    assert skus(anonymous.get(URL, {"in_stock": "true"})) == ["HAS"]
    assert skus(anonymous.get(URL, {"in_stock": "false"})) == ["NONE"]


@pytest.mark.parametrize("value", ["yes", "1", "True", "TRUE"])
def test_in_stock_accepts_only_true_or_false(anonymous, value):
    assert_bad_parameter(anonymous.get(URL, {"in_stock": value}), "in_stock")


def test_filters_combine(anonymous):
    books = CategoryFactory(slug="books")
    ProductFactory(sku="HIT-2", name="Atlas large", category=books, price=Decimal("30.00"), available=1)
    ProductFactory(sku="HIT-1", name="Atlas small", category=books, price=Decimal("20.00"), available=2)
    ProductFactory(sku="NO-STOCK", name="Atlas", category=books, price=Decimal("20.00"), available=0)
    ProductFactory(sku="TOO-DEAR", name="Atlas", category=books, price=Decimal("90.00"), available=5)
    ProductFactory(sku="OTHER-CAT", name="Atlas", category=CategoryFactory(slug="maps"), price=Decimal("20.00"))
    ProductFactory(sku="NO-MATCH", name="Globe", category=books, price=Decimal("20.00"), available=5)
    ProductFactory(sku="INACTIVE", name="Atlas", category=books, price=Decimal("20.00"), available=5, is_active=False)

    query = {
        "search": "atlas",
        "category": "books",
        "min_price": "10",
        "max_price": "50",
        "in_stock": "true",
        "ordering": "price",
    }
    assert skus(anonymous.get(URL, query)) == ["HIT-1", "HIT-2"]


def test_several_bad_parameters_are_all_named(anonymous):
    response = anonymous.get(URL, {"min_price": "x", "in_stock": "maybe", "ordering": "sku"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"min_price", "in_stock", "ordering"}


@pytest.mark.parametrize("viewer", ["anonymous", "as_customer"])
def test_inactive_products_are_hidden_from_non_staff(request, viewer):
    ProductFactory(sku="ON")
    ProductFactory(sku="OFF", is_active=False)
    client = request.getfixturevalue(viewer)

    assert skus(client.get(URL)) == ["ON"]
    assert skus(client.get(URL, {"is_active": "false"})) == []


def test_staff_see_inactive_products_too(as_staff):
    ProductFactory(sku="ON")
    ProductFactory(sku="OFF", is_active=False)

    assert sorted(skus(as_staff.get(URL))) == ["OFF", "ON"]
    assert skus(as_staff.get(URL, {"is_active": "false"})) == ["OFF"]
    assert skus(as_staff.get(URL, {"is_active": "true"})) == ["ON"]


def test_is_active_accepts_only_true_or_false(as_staff):
    assert_bad_parameter(as_staff.get(URL, {"is_active": "no"}), "is_active")


def test_pages_link_to_each_other(anonymous):
    for n in range(5):
        created(ProductFactory(sku=f"P{n}"), minutes_ago=n)

    first = anonymous.get(URL, {"page_size": 2}).json()
    last = anonymous.get(URL, {"page_size": 2, "page": 3}).json()

    assert (first["count"], [item["sku"] for item in first["results"]]) == (5, ["P0", "P1"])
    assert first["previous"] is None
    assert first["next"].endswith("/api/v1/products?page=2&page_size=2")
    assert [item["sku"] for item in last["results"]] == ["P4"]
    assert last["next"] is None
    assert last["previous"].endswith("/api/v1/products?page=2&page_size=2")


def test_links_keep_the_filters(anonymous):
    ProductFactory.create_batch(3, available=1)

    body = anonymous.get(URL, {"page_size": 1, "in_stock": "true"}).json()

    assert "in_stock=true" in body["next"]


def test_page_size_100_is_the_largest(anonymous):
    Product.objects.bulk_create(
        Product(sku=f"BULK-{n:03}", name=f"Bulk {n}", price=Decimal("1.00")) for n in range(105)
    )

    body = anonymous.get(URL, {"page_size": 100}).json()

    assert body["count"] == 105
    assert len(body["results"]) == 100


@pytest.mark.parametrize("page_size", ["101", "500", "0", "-1", "abc", " 5", "1.5"])
def test_a_page_size_out_of_1_to_100_is_a_400_naming_it(anonymous, page_size):
    ProductFactory()

    response = anonymous.get(URL, {"page_size": page_size})

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["errors"] == {"page_size": ["A whole number from 1 to 100."]}


@pytest.mark.parametrize("page", ["2", "99", "0", "last-but-one"])
def test_a_page_past_the_end_or_not_a_page_is_404_problem(anonymous, page):
    ProductFactory()

    response = anonymous.get(URL, {"page": page})

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["status"] == 404


def test_an_empty_catalog_is_one_empty_page(anonymous):
    assert anonymous.get(URL).json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_listing_a_page_costs_two_queries_whatever_its_size(anonymous, django_assert_num_queries):
    for n in range(30):
        ProductFactory(category=CategoryFactory(slug=f"c{n}"))

    with django_assert_num_queries(2):  # the count and the page, categories joined
        response = anonymous.get(URL, {"page_size": 30})

    assert len(response.json()["results"]) == 30
