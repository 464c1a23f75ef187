"""shop.product.v1.ProductService over a real in-process server and channel."""

import uuid
from decimal import Decimal

import grpc
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.grpc import MAX_BATCH, ProductServicer, register
from catalog.tests.factories import CategoryFactory, ProductFactory
from protos.product.v1 import product_pb2, product_pb2_grpc
from shared.grpc_server import create_server

# The server's worker threads use their own connections, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


class QueryCountingServicer(ProductServicer):
    """The real servicer, recording the SQL each GetProducts runs on its worker thread's connection."""

    def __init__(self) -> None:
        self.queries: list[list[str]] = []

    def GetProducts(self, request, context):
        with CaptureQueriesContext(connection) as captured:
            try:
                return super().GetProducts(request, context)
            finally:
                self.queries.append([query["sql"] for query in captured.captured_queries])


@pytest.fixture
def servicer():
    return QueryCountingServicer()


@pytest.fixture
def stub(monkeypatch, servicer):
    # Worker threads then close their connection after each call, so none outlives the test database.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)

    def register_counting(server):
        product_pb2_grpc.add_ProductServiceServicer_to_server(servicer, server)
        return ["shop.product.v1.ProductService"]

    server, port, _ = create_server(port=0, registers=[register_counting])
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield product_pb2_grpc.ProductServiceStub(channel)
    server.stop(0).wait()


def get_products(stub, ids):
    return stub.GetProducts(product_pb2.GetProductsRequest(ids=[str(product_id) for product_id in ids]), timeout=5)


def test_register_names_the_full_service():
    server, _, _ = create_server(port=0, registers=[])
    try:
        assert register(server) == ["shop.product.v1.ProductService"]
    finally:
        server.stop(0)


def test_the_configured_server_serves_the_product_service():
    server, port, _ = create_server(port=0)  # GRPC_SERVICERS from the settings, as run_grpc builds it
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = product_pb2_grpc.ProductServiceStub(channel)
            with pytest.raises(grpc.RpcError) as error:
                stub.GetProduct(product_pb2.GetProductRequest(id="nope"), timeout=5)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        server.stop(0).wait()


def test_get_products_returns_found_products_in_the_order_asked_and_the_missing_ids(stub):
    books = CategoryFactory(slug="books")
    first = ProductFactory(sku="A-1", name="Atlas", price=Decimal("19.90"), currency="EUR", category=books)
    second = ProductFactory(sku="B-2", name="Loose", price=Decimal("5.00"), category=None)
    missing = uuid.uuid4()

    answer = get_products(stub, [second.pk, missing, first.pk])

    assert [(p.id, p.sku, p.name, p.price, p.currency, p.is_active, p.category) for p in answer.products] == [
        (str(second.pk), "B-2", "Loose", "5.00", "USD", True, ""),
        (str(first.pk), "A-1", "Atlas", "19.90", "EUR", True, "books"),
    ]
    assert list(answer.missing_ids) == [str(missing)]


def test_get_products_reports_each_products_available_stock(stub):
    stocked = ProductFactory(available=7)
    sold_out = ProductFactory(available=0)

    answer = get_products(stub, [stocked.pk, sold_out.pk])

    assert [(p.id, p.available) for p in answer.products] == [(str(stocked.pk), 7), (str(sold_out.pk), 0)]


def test_get_products_returns_inactive_products_marked_inactive(stub):
    product = ProductFactory(is_active=False)

    answer = get_products(stub, [product.pk])

    assert [(p.id, p.is_active) for p in answer.products] == [(str(product.pk), False)]
    assert list(answer.missing_ids) == []


def test_get_products_reads_the_whole_batch_in_one_query(stub, servicer):
    products = [ProductFactory(category=CategoryFactory(slug=f"c{n}")) for n in range(50)]

    answer = get_products(stub, [product.pk for product in products] + [uuid.uuid4()])

    assert len(answer.products) == 50
    assert len(answer.missing_ids) == 1
    [queries] = servicer.queries
    assert len(queries) == 1, queries
    assert '"catalog_category"' in queries[0]  # the categories come in the same query
    assert '"catalog_product"."description"' not in queries[0]  # only what the message carries


def test_get_products_answers_each_id_once(stub):
    product = ProductFactory()
    missing = uuid.uuid4()

    answer = get_products(stub, [product.pk, product.pk, missing, missing])

    assert [p.id for p in answer.products] == [str(product.pk)]
    assert list(answer.missing_ids) == [str(missing)]


def test_an_id_in_capitals_is_the_same_product(stub):
    product = ProductFactory()

    answer = get_products(stub, [str(product.pk).upper()])

    assert [p.id for p in answer.products] == [str(product.pk)]


def test_no_ids_is_an_empty_answer_without_a_query(stub, servicer):
    answer = get_products(stub, [])

    assert (list(answer.products), list(answer.missing_ids)) == ([], [])
    assert servicer.queries == [[]]


def test_a_malformed_id_in_the_batch_is_invalid_argument(stub):
    product = ProductFactory()

    with pytest.raises(grpc.RpcError) as error:
        get_products(stub, [product.pk, "not-a-uuid"])

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not-a-uuid" in error.value.details()


def test_more_than_500_ids_is_invalid_argument(stub, servicer):
    with pytest.raises(grpc.RpcError) as error:
        get_products(stub, [uuid.uuid4() for _ in range(MAX_BATCH + 1)])

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert servicer.queries == [[]]


def test_exactly_500_ids_are_accepted(stub):
    answer = get_products(stub, [uuid.uuid4() for _ in range(MAX_BATCH)])

    assert len(answer.missing_ids) == MAX_BATCH


def test_get_product_returns_it_active_or_not(stub):
    product = ProductFactory(sku="OLD-1", price=Decimal("3.00"), is_active=False, category=CategoryFactory(slug="toys"))

    found = stub.GetProduct(product_pb2.GetProductRequest(id=str(product.pk)), timeout=5)

    assert (found.id, found.sku, found.price, found.is_active, found.category) == (
        str(product.pk),
        "OLD-1",
        "3.00",
        False,
        "toys",
    )


def test_get_product_of_an_unknown_id_is_not_found(stub):
    with pytest.raises(grpc.RpcError) as error:
        stub.GetProduct(product_pb2.GetProductRequest(id=str(uuid.uuid4())), timeout=5)

    assert error.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("product_id", ["not-a-uuid", ""])
def test_get_product_of_a_malformed_id_is_invalid_argument(stub, product_id):
    with pytest.raises(grpc.RpcError) as error:
        stub.GetProduct(product_pb2.GetProductRequest(id=product_id), timeout=5)

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
