"""shop.inventory.v1.InventoryService over a real in-process server and channel."""

import uuid

import grpc
import pytest

from inventory.grpc import MAX_PRODUCT_IDS, register
from inventory.selectors import stock_items_for_products
from inventory.tests.factories import StockItemFactory
from protos.inventory.v1 import inventory_pb2, inventory_pb2_grpc
from shared.grpc_server import create_server
from shared.testing.grpc import serving


@pytest.fixture
def stub(monkeypatch):
    with serving(register, monkeypatch) as channel:
        yield inventory_pb2_grpc.InventoryServiceStub(channel)


def get_stock(stub, product_ids):
    return stub.GetStock(inventory_pb2.GetStockRequest(product_ids=[str(each) for each in product_ids]), timeout=5)


def levels(response) -> list[tuple]:
    return [(level.product_id, level.sku, level.on_hand, level.reserved, level.available) for level in response.levels]


def test_register_names_the_full_service():
    server, _, _ = create_server(port=0, registers=[])
    try:
        assert register(server) == ["shop.inventory.v1.InventoryService"]
    finally:
        server.stop(0)


# The server's worker threads use their own connections, so the data must be committed.
@pytest.mark.django_db(transaction=True)
def test_get_stock_returns_the_levels_of_known_products_in_the_order_asked(stub):
    kite = StockItemFactory(sku="KITE", on_hand=9, reserved=4)
    ball = StockItemFactory(sku="BALL", on_hand=2)
    unknown = uuid.uuid4()

    response = get_stock(stub, [ball.product_id, unknown, kite.product_id, ball.product_id])

    assert levels(response) == [
        (str(ball.product_id), "BALL", 2, 0, 2),
        (str(kite.product_id), "KITE", 9, 4, 5),
    ]


@pytest.mark.django_db(transaction=True)
def test_get_stock_of_no_products_is_empty(stub):
    StockItemFactory()

    assert levels(get_stock(stub, [])) == []


@pytest.mark.django_db(transaction=True)
def test_get_stock_accepts_the_maximum_number_of_ids(stub):
    stock = StockItemFactory(sku="ONLY")

    response = get_stock(stub, [stock.product_id] + [uuid.uuid4() for _ in range(MAX_PRODUCT_IDS - 1)])

    assert [level.sku for level in response.levels] == ["ONLY"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bad_id", ["not-a-uuid", ""])
def test_a_malformed_id_is_invalid_argument(stub, bad_id):
    with pytest.raises(grpc.RpcError) as error:
        get_stock(stub, [uuid.uuid4(), bad_id])

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.django_db(transaction=True)
def test_more_than_the_maximum_ids_is_invalid_argument(stub):
    with pytest.raises(grpc.RpcError) as error:
        get_stock(stub, [uuid.uuid4() for _ in range(MAX_PRODUCT_IDS + 1)])

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(MAX_PRODUCT_IDS) in error.value.details()


@pytest.mark.django_db
def test_the_levels_are_read_in_one_query(django_assert_num_queries):
    product_ids = [StockItemFactory().product_id for _ in range(5)]

    with django_assert_num_queries(1):
        found = stock_items_for_products(product_ids=[*product_ids, uuid.uuid4()])

    assert [stock.product_id for stock in found] == product_ids
