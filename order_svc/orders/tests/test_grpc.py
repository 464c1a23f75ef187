"""shop.order.v1.OrderService over a real in-process server and channel."""

import uuid

import grpc
import pytest

from orders.grpc import register
from orders.tests.factories import make_order
from protos.order.v1 import order_pb2, order_pb2_grpc
from shared.grpc_server import create_server
from shared.testing.grpc import serving

# The server's worker threads use their own connections, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stub(monkeypatch):
    with serving(register, monkeypatch) as channel:
        yield order_pb2_grpc.OrderServiceStub(channel)


def test_register_names_the_full_service():
    server, _, _ = create_server(port=0, registers=[])
    try:
        assert register(server) == ["shop.order.v1.OrderService"]
    finally:
        server.stop(0)


def test_get_order_returns_the_order_with_its_lines(stub):
    order = make_order(status="confirmed", lines=[("MUG-1", "19.99", 2), ("TEA-7", "4.50", 1)])

    found = stub.GetOrder(order_pb2.GetOrderRequest(id=str(order.id)), timeout=5)

    assert (found.id, found.customer_id, found.status, found.total, found.currency) == (
        str(order.id),
        str(order.customer_id),
        "confirmed",
        "44.48",
        "USD",
    )
    assert [(item.sku, item.unit_price, item.quantity, item.line_total) for item in found.items] == [
        ("MUG-1", "19.99", 2, "39.98"),
        ("TEA-7", "4.50", 1, "4.50"),
    ]
    assert found.created_at.ToDatetime().replace(tzinfo=order.created_at.tzinfo) == order.created_at


def test_an_unknown_order_is_not_found(stub):
    with pytest.raises(grpc.RpcError) as error:
        stub.GetOrder(order_pb2.GetOrderRequest(id=str(uuid.uuid4())), timeout=5)

    assert error.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("order_id", ["not-a-uuid", ""])
def test_a_malformed_id_is_invalid_argument(stub, order_id):
    with pytest.raises(grpc.RpcError) as error:
        stub.GetOrder(order_pb2.GetOrderRequest(id=order_id), timeout=5)

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
