"""Staff see carts and their lines in the admin, read-only."""

from __future__ import annotations

import uuid

import pytest

from carts.models import Cart, CartLine

pytestmark = pytest.mark.django_db


def test_a_cart_page_shows_its_lines_and_offers_no_change(admin_client):
    cart = Cart.objects.create(customer_id=uuid.uuid4())
    CartLine.objects.create(
        cart=cart, product_id=uuid.uuid4(), quantity=3, sku="MUG-1", name="Mug", unit_price="4.00", currency="USD"
    )

    listing = admin_client.get("/admin/carts/cart/")
    page = admin_client.get(f"/admin/carts/cart/{cart.pk}/change/")

    assert listing.status_code == 200
    assert str(cart.pk) in listing.content.decode()
    assert page.status_code == 200
    assert "MUG-1" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.get("/admin/carts/cart/add/").status_code == 403
