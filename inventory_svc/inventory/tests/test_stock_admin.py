import pytest

from inventory.models import StockItem
from inventory.tests.factories import StockItemFactory

pytestmark = pytest.mark.django_db


def test_admin_finds_a_stock_row_by_product_id(admin_client):
    wanted = StockItemFactory(sku="WANTED")
    StockItemFactory(sku="OTHER")

    response = admin_client.get("/admin/inventory/stockitem/", {"q": str(wanted.product_id)})

    assert response.status_code == 200
    assert b"WANTED" in response.content
    assert b"OTHER" not in response.content


def test_admin_changes_only_the_low_stock_threshold(admin_client):
    stock = StockItemFactory(sku="KEEP", on_hand=4)

    response = admin_client.post(
        f"/admin/inventory/stockitem/{stock.pk}/change/",
        {"low_stock_threshold": "9", "on_hand": "999", "sku": "CHANGED", "is_active": ""},
    )

    assert response.status_code == 302
    stock.refresh_from_db()
    assert (stock.low_stock_threshold, stock.on_hand, stock.sku, stock.is_active) == (9, 4, "KEEP", True)


def test_admin_cannot_add_stock_rows(admin_client):
    assert admin_client.get("/admin/inventory/stockitem/add/").status_code == 403
    assert StockItem.objects.count() == 0
