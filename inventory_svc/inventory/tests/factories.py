import uuid
from collections.abc import Sequence

import factory

from inventory.models import StockItem
from shared.events import Envelope


class StockItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockItem

    product_id = factory.LazyFunction(uuid.uuid4)
    sku = factory.Sequence(lambda n: f"SKU-{n:05}")


def product_created(product_id: uuid.UUID, *, sku: str = "SKU-1", is_active: bool = True) -> Envelope:
    return _product_event("product.created", product_id, sku=sku, is_active=is_active)


def product_updated(product_id: uuid.UUID, *, sku: str = "SKU-1", is_active: bool = True) -> Envelope:
    return _product_event("product.updated", product_id, sku=sku, is_active=is_active)


def product_deleted(product_id: uuid.UUID, *, sku: str = "SKU-1") -> Envelope:
    return Envelope(
        type="product.deleted",
        key=str(product_id),
        source="product",
        payload={"product_id": str(product_id), "sku": sku},
    )


def _product_event(event_type: str, product_id: uuid.UUID, *, sku: str, is_active: bool) -> Envelope:
    envelope = Envelope(
        type=event_type,
        key=str(product_id),
        source="product",
        payload={
            "product_id": str(product_id),
            "sku": sku,
            "name": "Kite",
            "price": "12.50",
            "currency": "USD",
            "category": "toys",
            "is_active": is_active,
        },
    )
    envelope.validate()
    return envelope


def order_placed(order_id: uuid.UUID, lines: Sequence[tuple[uuid.UUID, int]]) -> Envelope:
    """``order.placed`` for ``lines`` of (product_id, quantity), as order_svc publishes it."""
    envelope = Envelope(
        type="order.placed",
        key=str(order_id),
        source="order",
        payload={
            "order_id": str(order_id),
            "customer_id": str(uuid.uuid4()),
            "lines": [
                {"product_id": str(product_id), "sku": f"SKU-{index}", "quantity": quantity, "unit_price": "2.50"}
                for index, (product_id, quantity) in enumerate(lines)
            ],
            "total": f"{2.5 * sum(quantity for _, quantity in lines):.2f}",
            "currency": "USD",
            "payment_method": "pm_card_visa",
        },
    )
    envelope.validate()
    return envelope


def order_cancelled(order_id: uuid.UUID, *, reason: str | None = None) -> Envelope:
    payload = {"order_id": str(order_id), "customer_id": str(uuid.uuid4())}
    if reason is not None:
        payload["reason"] = reason
    envelope = Envelope(type="order.cancelled", key=str(order_id), source="order", payload=payload)
    envelope.validate()
    return envelope


def order_shipped(order_id: uuid.UUID, lines: Sequence[tuple[uuid.UUID, int]]) -> Envelope:
    """``order.shipped`` for ``lines`` of (product_id, quantity), as order_svc publishes it."""
    envelope = Envelope(
        type="order.shipped",
        key=str(order_id),
        source="order",
        payload={
            "order_id": str(order_id),
            "customer_id": str(uuid.uuid4()),
            "lines": [{"product_id": str(product_id), "quantity": quantity} for product_id, quantity in lines],
        },
    )
    envelope.validate()
    return envelope


def order_rejected(order_id: uuid.UUID, *, reason: str) -> Envelope:
    payload = {"order_id": str(order_id), "customer_id": str(uuid.uuid4()), "reason": reason}
    envelope = Envelope(type="order.rejected", key=str(order_id), source="order", payload=payload)
    envelope.validate()
    return envelope
