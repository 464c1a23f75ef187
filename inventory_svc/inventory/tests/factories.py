import uuid

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
