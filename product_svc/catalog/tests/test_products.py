from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from catalog.demo import demo_products
from catalog.errors import CategoryNotFound, DuplicateSku, InvalidCurrency, InvalidPrice
from catalog.models import Product
from catalog.services import product_create, product_delete, product_update
from catalog.tests.factories import CategoryFactory, ProductFactory
from shared.models import OutboxEvent

pytestmark = pytest.mark.django_db


def payload_of(row: OutboxEvent) -> dict:
    return row.envelope["payload"]


def test_product_create_writes_the_product_and_one_product_created_event():
    CategoryFactory(slug="books", name="Books")

    product = product_create(
        sku="BK-1", name="Maps", price=Decimal("19.9"), description="Old maps.", category_slug="books"
    )

    stored = Product.objects.get()
    assert (stored.pk, stored.sku, stored.price, stored.currency, stored.is_active) == (
        product.pk, "BK-1", Decimal("19.90"), "USD", True,
    )  # fmt: skip
    assert (stored.available, stored.stock_version) == (0, 0)
    row = OutboxEvent.objects.get()
    assert (row.event_type, row.topic, row.key) == ("product.created", "products", str(product.pk))
    assert row.envelope["source"] == "product"
    assert payload_of(row) == {
        "product_id": str(product.pk),
        "sku": "BK-1",
        "name": "Maps",
        "price": "19.90",
        "currency": "USD",
        "category": "books",
        "is_active": True,
    }


def test_product_without_a_category_is_announced_with_a_null_category():
    product_create(sku="LOOSE-1", name="Loose", price=Decimal("1"), currency="EUR")

    assert payload_of(OutboxEvent.objects.get()) | {"product_id": None} == {
        "product_id": None,
        "sku": "LOOSE-1",
        "name": "Loose",
        "price": "1.00",
        "currency": "EUR",
        "category": None,
        "is_active": True,
    }


def test_rolled_back_transaction_leaves_neither_product_nor_event():
    with pytest.raises(RuntimeError, match="later step failed"), transaction.atomic():
        product_create(sku="GONE-1", name="Gone", price=Decimal("5.00"))
        raise RuntimeError("a later step failed")

    assert Product.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


def test_taken_sku_raises_duplicate_sku_and_adds_neither_product_nor_event():
    product_create(sku="DUP-1", name="First", price=Decimal("5.00"))

    with pytest.raises(DuplicateSku, match="DUP-1") as error:
        product_create(sku="DUP-1", name="Second", price=Decimal("6.00"))

    assert error.value.status == 409
    assert list(Product.objects.values_list("name", flat=True)) == ["First"]
    assert OutboxEvent.objects.count() == 1


def test_duplicate_sku_leaves_the_callers_transaction_usable():
    product_create(sku="DUP-1", name="First", price=Decimal("5.00"))

    with transaction.atomic():
        with pytest.raises(DuplicateSku):
            product_create(sku="DUP-1", name="Second", price=Decimal("6.00"))
        product_create(sku="DUP-2", name="Third", price=Decimal("7.00"))

    assert sorted(Product.objects.values_list("sku", flat=True)) == ["DUP-1", "DUP-2"]


@pytest.mark.parametrize("currency", ["usd", "US", "EURO", "", 978])
def test_invalid_currency_is_refused_before_anything_is_written(currency):
    with pytest.raises(InvalidCurrency):
        product_create(sku="X-1", name="X", price=Decimal("5.00"), currency=currency)

    assert Product.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


def test_unknown_category_is_refused_before_anything_is_written():
    with pytest.raises(CategoryNotFound):
        product_create(sku="X-1", name="X", price=Decimal("5.00"), category_slug="nope")

    assert Product.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


@pytest.mark.parametrize("price", [Decimal("-0.01"), Decimal("1.005"), Decimal("NaN"), Decimal("1e10"), 5.0])
def test_invalid_price_is_refused_before_anything_is_written(price):
    with pytest.raises(InvalidPrice):
        product_create(sku="X-1", name="X", price=price)

    assert Product.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


def test_database_refuses_a_negative_price():
    product = ProductFactory(price=Decimal("1.00"))

    with pytest.raises(IntegrityError, match="product_price_not_negative"):
        Product.objects.filter(pk=product.pk).update(price=Decimal("-1.00"))


def test_database_refuses_a_currency_that_is_not_three_capital_letters():
    with pytest.raises(IntegrityError, match="product_currency_iso"):
        ProductFactory(currency="usd")


def test_product_update_stores_the_changes_and_publishes_product_updated_with_the_new_state():
    CategoryFactory(slug="toys", name="Toys")
    product = product_create(sku="T-1", name="Kite", price=Decimal("10.00"))

    updated = product_update(product=product, price=Decimal("12.50"), name="Big kite", category_slug="toys")

    stored = Product.objects.get()
    assert (stored.name, stored.price, stored.category.slug) == ("Big kite", Decimal("12.50"), "toys")
    assert updated.updated_at > product.updated_at
    row = OutboxEvent.objects.get(event_type="product.updated")
    assert row.key == str(product.pk)
    assert payload_of(row) == {
        "product_id": str(product.pk),
        "sku": "T-1",
        "name": "Big kite",
        "price": "12.50",
        "currency": "USD",
        "category": "toys",
        "is_active": True,
    }


def test_changing_the_sku_to_a_taken_one_raises_duplicate_sku_and_changes_nothing():
    product_create(sku="T-1", name="Kite", price=Decimal("10.00"))
    other = product_create(sku="T-2", name="Ball", price=Decimal("3.00"))

    with pytest.raises(DuplicateSku, match="T-1"):
        product_update(product=other, sku="T-1", name="Renamed")

    assert Product.objects.get(pk=other.pk).name == "Ball"
    assert list(OutboxEvent.objects.values_list("event_type", flat=True)) == ["product.created", "product.created"]


def test_product_update_refuses_an_invalid_currency():
    product = ProductFactory(currency="USD")

    with pytest.raises(InvalidCurrency):
        product_update(product=product, currency="eur")

    assert Product.objects.get().currency == "USD"
    assert OutboxEvent.objects.count() == 0


def test_product_update_that_changes_nothing_publishes_nothing():
    product = product_create(sku="T-1", name="Kite", price=Decimal("10.00"))

    product_update(product=product, price=Decimal("10"), name="Kite", category_slug=None)

    assert list(OutboxEvent.objects.values_list("event_type", flat=True)) == ["product.created"]


def test_product_update_refuses_a_field_it_does_not_manage():
    product = ProductFactory()

    with pytest.raises(TypeError, match="available"):
        product_update(product=product, available=5)  # type: ignore[call-arg]

    assert OutboxEvent.objects.count() == 0


def test_product_delete_deactivates_and_publishes_product_deleted():
    product = product_create(sku="D-1", name="Doomed", price=Decimal("3.00"))

    product_delete(product=product)

    assert Product.objects.get().is_active is False
    row = OutboxEvent.objects.get(event_type="product.deleted")
    assert (row.key, payload_of(row)) == (str(product.pk), {"product_id": str(product.pk), "sku": "D-1"})


def test_deleting_an_inactive_product_publishes_nothing_more():
    product = product_create(sku="D-1", name="Doomed", price=Decimal("3.00"))
    product_delete(product=product)

    product_delete(product=product)

    assert OutboxEvent.objects.filter(event_type="product.deleted").count() == 1


def test_seeding_twice_creates_each_demo_product_once_with_one_event_each():
    call_command("seed_demo")
    call_command("seed_demo")

    expected = demo_products()
    assert len(expected) == 50
    assert sorted(Product.objects.values_list("sku", flat=True)) == [f"DEMO-{n:04}" for n in range(1, 51)]
    assert Product.objects.filter(is_active=True).count() == 50
    per_category = {
        slug: Product.objects.filter(category__slug=slug).count()
        for slug in ("books", "electronics", "home-kitchen", "outdoors", "toys")
    }
    assert per_category == dict.fromkeys(per_category, 10)
    assert OutboxEvent.objects.filter(event_type="product.created").count() == 50
    assert OutboxEvent.objects.count() == 50


def test_seeding_skips_a_sku_that_exists_already():
    ProductFactory(sku="DEMO-0001", name="Kept as it is")

    call_command("seed_demo")

    assert Product.objects.get(sku="DEMO-0001").name == "Kept as it is"
    assert Product.objects.count() == 50
    assert OutboxEvent.objects.count() == 49
