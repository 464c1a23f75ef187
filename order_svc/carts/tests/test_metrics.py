"""The cart's metrics count committed changes only, and refused checkouts by their problem's code."""

from __future__ import annotations

import uuid

import pytest
from orders.errors import IdempotencyKeyReused
from orders.services import LineRequest
from prometheus_client import REGISTRY

from carts.errors import CartEmpty
from carts.metrics import CART_LINE_EVENTS, CHECKOUT_FAILURE_REASONS
from carts.services import cart_checkout, cart_clear, cart_merge, cart_remove_line, cart_set_quantity

pytestmark = pytest.mark.django_db

CUSTOMER = uuid.UUID("55555555-5555-4555-8555-555555555555")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def lines(event: str) -> float:
    return sample("shop_cart_lines_total", event=event)


def failures(reason: str) -> float:
    return sample("shop_cart_checkout_failures_total", reason=reason)


def checkout(key: str, payment_method: str = "pm_card_visa"):
    return cart_checkout(customer_id=CUSTOMER, idempotency_key=key, payment_method=payment_method)


def test_every_series_exists_from_the_start():
    for event in CART_LINE_EVENTS:
        assert REGISTRY.get_sample_value("shop_cart_lines_total", {"event": event}) is not None
    for reason in CHECKOUT_FAILURE_REASONS:
        assert REGISTRY.get_sample_value("shop_cart_checkout_failures_total", {"reason": reason}) is not None
    assert REGISTRY.get_sample_value("shop_carts_checked_out_total") is not None


def test_new_lines_are_counted_added_and_quantity_changes_are_not(catalog, django_capture_on_commit_callbacks):
    mug, tea, jar = catalog.add("MUG-1"), catalog.add("TEA-1"), catalog.add("JAR-1")
    added = lines("added")

    with django_capture_on_commit_callbacks(execute=True):
        cart_set_quantity(customer_id=CUSTOMER, product_id=mug, quantity=1)
        cart_set_quantity(customer_id=CUSTOMER, product_id=mug, quantity=4)
        cart_merge(customer_id=CUSTOMER, items=[LineRequest(mug, 1), LineRequest(tea, 1), LineRequest(jar, 1)])

    assert lines("added") == added + 3


def test_removed_lines_are_counted_once_committed(catalog, django_capture_on_commit_callbacks):
    mug, tea, jar = catalog.add("MUG-1"), catalog.add("TEA-1"), catalog.add("JAR-1")
    for product in (mug, tea, jar):
        cart_set_quantity(customer_id=CUSTOMER, product_id=product, quantity=1)
    removed = lines("removed")

    with django_capture_on_commit_callbacks(execute=False) as pending:
        cart_set_quantity(customer_id=CUSTOMER, product_id=mug, quantity=0)
        cart_remove_line(customer_id=CUSTOMER, product_id=tea)
        cart_remove_line(customer_id=CUSTOMER, product_id=tea)  # not there any more: nothing to count
        cart_clear(customer_id=CUSTOMER)
    assert lines("removed") == removed
    for callback in pending:
        callback()

    assert lines("removed") == removed + 3


def test_a_checkout_is_counted_once_however_often_it_is_retried(catalog, django_capture_on_commit_callbacks):
    cart_set_quantity(customer_id=CUSTOMER, product_id=catalog.add("MUG-1"), quantity=1)
    checked_out = sample("shop_carts_checked_out_total")

    with django_capture_on_commit_callbacks(execute=True):
        checkout("once")
        checkout("once")

    assert sample("shop_carts_checked_out_total") == checked_out + 1


def test_refused_checkouts_are_counted_by_reason(catalog):
    empty, reused = failures("cart-empty"), failures("idempotency-key-reused")
    with pytest.raises(CartEmpty):
        checkout("a")
    cart_set_quantity(customer_id=CUSTOMER, product_id=catalog.add("MUG-1"), quantity=1)
    checkout("b")

    with pytest.raises(IdempotencyKeyReused):
        checkout("b", payment_method="pm_card_mastercard")

    assert (failures("cart-empty"), failures("idempotency-key-reused")) == (empty + 1, reused + 1)
