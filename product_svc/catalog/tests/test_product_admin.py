"""Staff edits in the admin go through the services: every change publishes its event."""

from decimal import Decimal

import pytest

from catalog.models import Product
from catalog.services import product_create
from catalog.tests.factories import CategoryFactory
from shared.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_adding_a_product_in_the_admin_publishes_product_created(admin_client):
    category = CategoryFactory(slug="books")

    response = admin_client.post(
        "/admin/catalog/product/add/",
        {"sku": "ADM-1", "name": "Atlas", "description": "", "price": "7.50", "currency": "USD",
         "category": category.pk, "is_active": "on"},
    )  # fmt: skip

    assert response.status_code == 302, response.content
    product = Product.objects.get()
    assert response["Location"] == "/admin/catalog/product/"
    row = OutboxEvent.objects.get()
    assert (row.event_type, row.key) == ("product.created", str(product.pk))
    assert row.envelope["payload"]["price"] == "7.50"


def test_editing_a_price_in_the_admin_list_publishes_product_updated(admin_client):
    product = product_create(sku="ADM-1", name="Atlas", price=Decimal("7.50"))

    response = admin_client.post(
        "/admin/catalog/product/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(product.pk),
            "form-0-price": "8.25",
            "form-0-is_active": "on",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content
    assert Product.objects.get().price == Decimal("8.25")
    row = OutboxEvent.objects.get(event_type="product.updated")
    assert row.envelope["payload"]["price"] == "8.25"


def test_the_admin_deactivate_action_soft_deletes_and_publishes_product_deleted(admin_client):
    product = product_create(sku="ADM-1", name="Atlas", price=Decimal("7.50"))

    response = admin_client.post(
        "/admin/catalog/product/", {"action": "deactivate_products", "_selected_action": [str(product.pk)]}
    )

    assert response.status_code == 302
    assert Product.objects.get().is_active is False
    assert OutboxEvent.objects.filter(event_type="product.deleted").count() == 1


def test_the_admin_never_deletes_a_product(admin_client):
    product = product_create(sku="ADM-1", name="Atlas", price=Decimal("7.50"))

    response = admin_client.post(f"/admin/catalog/product/{product.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Product.objects.filter(pk=product.pk).exists()
