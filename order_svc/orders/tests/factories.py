from __future__ import annotations

import uuid
from decimal import Decimal

import factory

from orders.models import Customer, Order, OrderLine, OrderStatus, StatusHistory


class OrderFactory(factory.django.DjangoModelFactory):
    """An order without lines or events (see :func:`make_order` for a complete one)."""

    class Meta:
        model = Order

    customer_id = factory.LazyFunction(uuid.uuid4)
    status = OrderStatus.PENDING
    total = Decimal("0.00")
    currency = "USD"


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product_id = factory.LazyFunction(uuid.uuid4)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.LazyAttribute(lambda line: f"Product {line.sku}")
    unit_price = Decimal("10.00")
    quantity = 1
    line_total = factory.LazyAttribute(lambda line: line.unit_price * line.quantity)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    id = factory.LazyFunction(uuid.uuid4)
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    role = "customer"
    is_active = True


def make_order(
    *,
    customer_id: uuid.UUID | None = None,
    status: str = OrderStatus.PENDING,
    lines: list[tuple[str, str, int]] | None = None,
) -> Order:
    """An order with lines ``(sku, unit_price, quantity)``, its total, and a pending history entry."""
    order = OrderFactory(customer_id=customer_id or uuid.uuid4(), status=status)
    created = [
        OrderLineFactory(order=order, sku=sku, unit_price=Decimal(price), quantity=quantity)
        for sku, price, quantity in (lines or [("SKU-1", "10.00", 1)])
    ]
    order.total = sum((line.line_total for line in created), Decimal("0.00"))
    order.save(update_fields=["total"])
    StatusHistory.objects.create(order=order, status=OrderStatus.PENDING, by=order.customer_id, reason="Placed.")
    return order
