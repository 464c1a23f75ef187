"""A real in-process product service for the order service's tests (the ``catalog`` fixture, see ``conftest.py``)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest

from protos.product.v1 import product_pb2, product_pb2_grpc
from shared import grpc_client
from shared.grpc_server import create_server, registration


@dataclass
class FakeCatalog(product_pb2_grpc.ProductServiceServicer):
    """A ProductService answering from a dict, recording the ids of every GetProducts call."""

    products: dict[str, product_pb2.Product] = field(default_factory=dict)
    requests: list[list[str]] = field(default_factory=list)
    delay: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        sku: str,
        price: str = "10.00",
        *,
        name: str = "",
        currency: str = "USD",
        is_active: bool = True,
        available: int = 100,
    ) -> uuid.UUID:
        product_id = uuid.uuid4()
        self.products[str(product_id)] = product_pb2.Product(
            id=str(product_id),
            sku=sku,
            name=name or f"Product {sku}",
            price=price,
            currency=currency,
            is_active=is_active,
            category="things",
            available=available,
        )
        return product_id

    def GetProducts(self, request, context):
        with self._lock:
            self.requests.append(list(request.ids))
        if self.delay:
            time.sleep(self.delay)
        found = [self.products[id_] for id_ in request.ids if id_ in self.products]
        missing = [id_ for id_ in request.ids if id_ not in self.products]
        return product_pb2.GetProductsResponse(products=found, missing_ids=missing)

    def GetProduct(self, request, context):
        if request.id not in self.products:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such product")
        return self.products[request.id]


def point_product_service_at(settings, target: str) -> None:
    settings.SERVICE_GRPC_TARGETS = {**settings.SERVICE_GRPC_TARGETS, "product": target}
    grpc_client.reset()


@pytest.fixture
def catalog(settings) -> Iterator[FakeCatalog]:
    """A real gRPC ProductService on a free port, which the order service is pointed at."""
    fake = FakeCatalog()

    register = registration(
        product_pb2_grpc.add_ProductServiceServicer_to_server,
        lambda: fake,
        product_pb2.DESCRIPTOR.services_by_name["ProductService"],
    )
    server, port, _ = create_server(port=0, registers=[register])
    server.start()
    point_product_service_at(settings, f"127.0.0.1:{port}")
    yield fake
    grpc_client.reset()
    server.stop(0).wait()
