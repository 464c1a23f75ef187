"""The cart's services and selector against the real database and a real in-process product service."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from orders.errors import InvalidOrder
from orders.models import IdempotencyKey, Order
from orders.services import LineRequest
from orders.tasks import expire_pending_orders

from carts.errors import CartChanged, CartCurrencyMismatch, CartEmpty, CartFull
from carts.models import Cart, CartLine
from carts.selectors import cart_priced
from carts.services import (
    _CartLines,
    cart_checkout,
    cart_clear,
    cart_delete_stale,
    cart_merge,
    cart_remove_line,
    cart_set_quantity,
)
from shared.errors import NotFound
from shared.testing.outbox import published_types

pytestmark = pytest.mark.django_db

CUSTOMER = uuid.UUID("33333333-3333-4333-8333-333333333333")


def lines_of(customer_id=CUSTOMER) -> dict[uuid.UUID, int]:
    return dict(CartLine.objects.filter(cart_id=customer_id).values_list("product_id", "quantity"))


def put(product_id, quantity, customer_id=CUSTOMER) -> None:
    cart_set_quantity(customer_id=customer_id, product_id=product_id, quantity=quantity)


def checkout(key="key-1", customer_id=CUSTOMER, **extra):
    return cart_checkout(customer_id=customer_id, idempotency_key=key, payment_method="pm_card_visa", **extra)


class TestSettingQuantities:
    def test_a_new_product_becomes_a_line_priced_and_named_as_the_catalog_says(self, catalog):
        mug = catalog.add("MUG-1", "19.99", name="Mug")

        put(mug, 2)

        line = CartLine.objects.get()
        assert (line.cart_id, line.product_id, line.quantity, line.sku, line.name, line.unit_price, line.currency) == (
            CUSTOMER,
            mug,
            2,
            "MUG-1",
            "Mug",
            Decimal("19.99"),
            "USD",
        )

    def test_setting_it_again_replaces_the_quantity_and_keeps_one_line(self, catalog):
        mug = catalog.add("MUG-1")
        put(mug, 2)

        put(mug, 5)

        assert lines_of() == {mug: 5}

    def test_zero_removes_the_line_without_asking_the_catalog(self, catalog):
        mug = catalog.add("MUG-1")
        put(mug, 2)
        asked = len(catalog.requests)

        put(mug, 0)

        assert lines_of() == {}
        assert len(catalog.requests) == asked

    @pytest.mark.parametrize("is_active", [True, False])
    def test_an_unknown_or_inactive_product_is_not_found_and_adds_nothing(self, catalog, is_active):
        product = catalog.add("OLD-1", is_active=False) if not is_active else uuid.uuid4()

        with pytest.raises(NotFound):
            put(product, 1)

        assert (Cart.objects.count(), CartLine.objects.count()) == (0, 0)

    def test_the_51st_product_is_refused_and_nothing_changes(self, catalog):
        products = [catalog.add(f"P-{n}") for n in range(51)]
        for product in products[:50]:
            put(product, 1)
        before = Cart.objects.get().updated_at

        with pytest.raises(CartFull):
            put(products[50], 1)

        assert len(lines_of()) == 50
        assert products[50] not in lines_of()
        assert Cart.objects.get().updated_at == before

    def test_a_full_cart_still_changes_the_quantity_of_its_lines(self, catalog):
        products = [catalog.add(f"P-{n}") for n in range(50)]
        for product in products:
            put(product, 1)

        put(products[0], 3)

        assert lines_of()[products[0]] == 3

    def test_a_product_in_another_currency_is_refused(self, catalog):
        put(catalog.add("MUG-1", currency="USD"), 1)

        with pytest.raises(CartCurrencyMismatch):
            put(catalog.add("TEA-1", currency="EUR"), 1)

        assert len(lines_of()) == 1

    def test_carts_belong_to_one_customer(self, catalog):
        mug = catalog.add("MUG-1")
        other = uuid.uuid4()

        put(mug, 1)
        put(mug, 4, customer_id=other)

        assert (lines_of(), lines_of(other)) == ({mug: 1}, {mug: 4})


def test_the_database_refuses_a_second_line_of_one_product(catalog):
    mug = catalog.add("MUG-1")
    put(mug, 1)
    line = CartLine.objects.get()
    line.pk = None

    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()


class TestRemoving:
    def test_removing_a_line_keeps_the_others(self, catalog):
        mug, tea = catalog.add("MUG-1"), catalog.add("TEA-1")
        put(mug, 1)
        put(tea, 2)

        cart_remove_line(customer_id=CUSTOMER, product_id=mug)

        assert lines_of() == {tea: 2}

    def test_removing_what_is_not_there_changes_nothing_and_creates_no_cart(self, catalog):
        cart_remove_line(customer_id=CUSTOMER, product_id=uuid.uuid4())

        assert Cart.objects.count() == 0

    def test_clearing_deletes_the_cart_and_its_lines(self, catalog):
        put(catalog.add("MUG-1"), 1)

        cart_clear(customer_id=CUSTOMER)

        assert (Cart.objects.count(), CartLine.objects.count()) == (0, 0)


class TestMerging:
    def test_quantities_add_up_and_new_products_become_lines(self, catalog):
        mug, tea = catalog.add("MUG-1"), catalog.add("TEA-1")
        put(mug, 2)

        skipped = cart_merge(customer_id=CUSTOMER, items=[LineRequest(mug, 3), LineRequest(tea, 1)])

        assert skipped == []
        assert lines_of() == {mug: 5, tea: 1}

    def test_a_sum_past_1000_is_capped_at_1000(self, catalog):
        mug = catalog.add("MUG-1")
        put(mug, 900)

        cart_merge(customer_id=CUSTOMER, items=[LineRequest(mug, 200)])

        assert lines_of() == {mug: 1000}

    def test_products_no_longer_sold_are_skipped_and_returned(self, catalog):
        mug = catalog.add("MUG-1")
        old = catalog.add("OLD-1", is_active=False)
        unknown = uuid.uuid4()

        skipped = cart_merge(
            customer_id=CUSTOMER, items=[LineRequest(old, 1), LineRequest(mug, 1), LineRequest(unknown, 1)]
        )

        assert skipped == [old, unknown]
        assert lines_of() == {mug: 1}

    def test_a_merge_past_50_lines_is_refused_whole(self, catalog):
        products = [catalog.add(f"P-{n}") for n in range(51)]
        for product in products[:49]:
            put(product, 1)

        with pytest.raises(CartFull):
            cart_merge(
                customer_id=CUSTOMER,
                items=[LineRequest(products[0], 5), LineRequest(products[49], 1), LineRequest(products[50], 1)],
            )

        assert len(lines_of()) == 49
        assert lines_of()[products[0]] == 1  # the line already there did not grow either

    def test_a_merge_of_lines_already_there_fits_a_full_cart(self, catalog):
        products = [catalog.add(f"P-{n}") for n in range(50)]
        for product in products:
            put(product, 1)

        cart_merge(customer_id=CUSTOMER, items=[LineRequest(products[0], 2)])

        assert lines_of()[products[0]] == 3


class TestThePricedCart:
    def test_no_cart_is_an_empty_one_without_asking_the_catalog(self, catalog):
        cart = cart_priced(customer_id=CUSTOMER)

        assert (cart.items, cart.total, cart.currency, cart.warnings, cart.updated_at) == (
            [],
            Decimal("0.00"),
            None,
            [],
            None,
        )
        assert catalog.requests == []

    def test_lines_are_priced_live_with_one_batch_call(self, catalog):
        products = [catalog.add(f"P-{n}", "2.50") for n in range(5)]
        for product in products:
            put(product, 2)
        catalog.requests.clear()

        cart = cart_priced(customer_id=CUSTOMER)

        assert catalog.requests == [[str(product) for product in products]]
        assert [(line.product_id, line.line_total) for line in cart.items] == [(p, Decimal("5.00")) for p in products]
        assert (cart.total, cart.currency, cart.warnings) == (Decimal("25.00"), "USD", [])

    def test_a_price_change_shows_the_new_price_and_warns_with_both(self, catalog):
        mug = catalog.add("MUG-1", "10.00")
        put(mug, 3)
        catalog.products[str(mug)].price = "12.50"

        cart = cart_priced(customer_id=CUSTOMER)

        assert (cart.items[0].unit_price, cart.items[0].line_total, cart.total) == (
            Decimal("12.50"),
            Decimal("37.50"),
            Decimal("37.50"),
        )
        assert cart.warnings == [
            {"code": "price_changed", "product_id": str(mug), "old_price": "10.00", "new_price": "12.50"}
        ]

    def test_more_than_the_stock_warns_with_what_is_available(self, catalog):
        mug = catalog.add("MUG-1", available=2)
        put(mug, 3)

        cart = cart_priced(customer_id=CUSTOMER)

        assert cart.items[0].available == 2
        assert cart.warnings == [{"code": "insufficient_stock", "product_id": str(mug), "available": 2}]

    def test_exactly_the_stock_does_not_warn(self, catalog):
        put(catalog.add("MUG-1", available=3), 3)

        assert cart_priced(customer_id=CUSTOMER).warnings == []

    def test_a_product_no_longer_sold_is_unavailable_and_left_out_of_the_total(self, catalog):
        mug, tea = catalog.add("MUG-1", "4.00"), catalog.add("TEA-1", "3.00", name="Tea")
        put(mug, 1)
        put(tea, 2)
        catalog.products[str(tea)].is_active = False

        cart = cart_priced(customer_id=CUSTOMER)

        assert cart.total == Decimal("4.00")
        assert (cart.items[1].name, cart.items[1].available) == ("Tea", 0)
        assert cart.warnings == [{"code": "unavailable", "product_id": str(tea)}]

    def test_a_product_the_catalog_forgot_keeps_the_name_it_was_added_with(self, catalog):
        mug = catalog.add("MUG-1", "4.00", name="Mug")
        put(mug, 1)
        del catalog.products[str(mug)]

        cart = cart_priced(customer_id=CUSTOMER)

        assert (cart.items[0].sku, cart.items[0].name, cart.items[0].unit_price) == ("MUG-1", "Mug", Decimal("4.00"))
        assert cart.warnings == [{"code": "unavailable", "product_id": str(mug)}]


class TestCheckout:
    def test_places_the_cart_as_a_pending_order_and_empties_it(self, catalog):
        mug, tea = catalog.add("MUG-1", "19.99"), catalog.add("TEA-1", "4.50")
        put(mug, 2)
        put(tea, 1)

        placement = checkout(shipping_address={"city": "London"})

        order = Order.objects.get()
        assert (placement.order.id, placement.created) == (order.id, True)
        assert [(line.product_id, line.quantity) for line in order.lines.order_by("id")] == [(mug, 2), (tea, 1)]
        assert (order.total, order.payment_method, order.shipping_address) == (
            Decimal("44.48"),
            "pm_card_visa",
            {"city": "London"},
        )
        assert (Cart.objects.count(), CartLine.objects.count()) == (0, 0)
        assert published_types() == ["order.placed"]

    def test_prices_at_checkout_not_at_adding(self, catalog):
        mug = catalog.add("MUG-1", "10.00")
        put(mug, 1)
        catalog.products[str(mug)].price = "11.00"

        assert checkout().order.total == Decimal("11.00")

    def test_an_empty_cart_is_refused_and_places_nothing(self, catalog):
        with pytest.raises(CartEmpty):
            checkout()

        assert (Order.objects.count(), IdempotencyKey.objects.count()) == (0, 0)

    def test_a_retry_after_success_returns_the_same_order_although_the_cart_is_empty(self, catalog):
        put(catalog.add("MUG-1"), 1)
        first = checkout(key="once")

        again = checkout(key="once")

        assert (again.order.id, again.created) == (first.order.id, False)
        assert Order.objects.count() == 1

    def test_a_double_click_placed_between_the_key_check_and_reading_the_cart_returns_that_order(
        self, catalog, monkeypatch
    ):
        put(catalog.add("MUG-1"), 1)
        read_cart = _CartLines.lines
        other_click: list = []

        def after_the_other_click(source: _CartLines):
            # The other click's request (same key) places the cart just after this one found the key unused.
            monkeypatch.setattr(_CartLines, "lines", read_cart)
            other_click.append(checkout(key="clicked"))
            return read_cart(source)  # the cart is empty now

        monkeypatch.setattr(_CartLines, "lines", after_the_other_click)
        this_click = checkout(key="clicked")

        assert (this_click.order.id, this_click.created) == (other_click[0].order.id, False)
        assert Order.objects.count() == 1

    def test_a_product_no_longer_sold_refuses_the_checkout_and_keeps_the_cart(self, catalog):
        mug = catalog.add("MUG-1")
        put(mug, 1)
        catalog.products[str(mug)].is_active = False

        with pytest.raises(InvalidOrder) as refused:
            checkout()

        assert refused.value.errors == {"items.0.product_id": [f"Product {mug} (MUG-1) is no longer sold."]}
        assert (Order.objects.count(), lines_of()) == (0, {mug: 1})

    def test_a_cart_changed_between_pricing_and_placing_places_nothing_and_keeps_the_change(self, catalog):
        mug, tea = catalog.add("MUG-1"), catalog.add("TEA-1")
        put(mug, 1)
        source = _CartLines(CUSTOMER)
        priced = source.lines()
        put(tea, 1)  # another tab, after the checkout read the cart

        with pytest.raises(CartChanged):
            source.consume(priced)

        assert lines_of() == {mug: 1, tea: 1}


class TestTheSweep:
    def touched_ago(self, age: timedelta, customer_id: uuid.UUID, catalog) -> None:
        put(catalog.add(f"P-{customer_id}"), 1, customer_id=customer_id)
        Cart.objects.filter(pk=customer_id).update(updated_at=timezone.now() - age)

    def test_deletes_carts_untouched_longer_than_the_ttl_with_their_lines(self, catalog):
        stale, fresh = uuid.uuid4(), uuid.uuid4()
        self.touched_ago(timedelta(days=31), stale, catalog)
        self.touched_ago(timedelta(days=29), fresh, catalog)

        deleted = cart_delete_stale(older_than=timedelta(days=30))

        assert deleted == 1
        assert list(Cart.objects.values_list("pk", flat=True)) == [fresh]
        assert set(CartLine.objects.values_list("cart_id", flat=True)) == {fresh}

    def test_a_change_keeps_a_cart_alive(self, catalog):
        mug = catalog.add("MUG-1")
        self.touched_ago(timedelta(days=31), CUSTOMER, catalog)

        put(mug, 1)

        assert cart_delete_stale(older_than=timedelta(days=30)) == 0

    def test_the_order_sweep_deletes_them_after_cart_ttl_days(self, catalog, settings):
        settings.CART_TTL_DAYS = 7
        stale, fresh = uuid.uuid4(), uuid.uuid4()
        self.touched_ago(timedelta(days=8), stale, catalog)
        self.touched_ago(timedelta(days=6), fresh, catalog)

        expire_pending_orders()

        assert list(Cart.objects.values_list("pk", flat=True)) == [fresh]
