"""Rules the database itself holds, whatever the code above it does."""

import uuid

import pytest
from django.db import IntegrityError

from orders.models import IdempotencyKey, Order
from orders.tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("quantity", [0, 1001])
def test_a_line_quantity_outside_1_to_1000_is_refused(quantity):
    with pytest.raises(IntegrityError, match="order_line_quantity_range"):
        OrderLineFactory(quantity=quantity)


def test_a_product_appears_once_per_order():
    line = OrderLineFactory()

    with pytest.raises(IntegrityError, match="order_line_product_once"):
        OrderLineFactory(order=line.order, product_id=line.product_id)


def test_an_unknown_status_is_refused():
    order = OrderFactory()

    with pytest.raises(IntegrityError, match="order_status_known"):
        Order.objects.filter(pk=order.pk).update(status="lost")


def test_an_idempotency_key_is_unique_per_customer():
    customer_id = uuid.uuid4()
    IdempotencyKey.objects.create(customer_id=customer_id, key="k", request_hash="a" * 64)

    with pytest.raises(IntegrityError, match="idempotency_key_per_customer"):
        IdempotencyKey.objects.create(customer_id=customer_id, key="k", request_hash="b" * 64)
