"""POST /api/v1/orders: pricing over real gRPC, the order and its event, and every way to be refused."""

import threading
import time
import uuid
from decimal import Decimal

import grpc
import pytest

from ops.procs import free_port
from orders import products
from orders.models import IdempotencyKey, Order, OrderLine, StatusHistory
from orders.tests.fake_catalog import FakeCatalog, point_product_service_at
from orders.tests.support import place_body
from protos.product.v1 import product_pb2_grpc
from shared.grpc_server import create_server
from shared.models import OutboxEvent
from shared.testing.outbox import published

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"


def place(client, body, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(URL, body, format="json", **headers)


def nothing_written():
    return (Order.objects.count(), IdempotencyKey.objects.count(), OutboxEvent.objects.count()) == (0, 0, 0)


def test_placing_answers_201_with_the_pending_order_priced_by_the_catalog(as_customer, customer_id, catalog):
    mug = catalog.add("MUG-1", "19.99", name="Mug")
    tea = catalog.add("TEA-7", "4.50", name="Green tea")

    response = place(as_customer, place_body((mug, 2), (tea, 3)))

    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert body == {
        "id": str(order.id),
        "customer_id": str(customer_id),
        "status": "pending",
        "items": [
            {
                "product_id": str(mug),
                "sku": "MUG-1",
                "name": "Mug",
                "unit_price": "19.99",
                "quantity": 2,
                "line_total": "39.98",
            },
            {
                "product_id": str(tea),
                "sku": "TEA-7",
                "name": "Green tea",
                "unit_price": "4.50",
                "quantity": 3,
                "line_total": "13.50",
            },
        ],
        "total": "53.48",
        "currency": "USD",
        "rejection_reason": None,
        "payment_method": "pm_card_visa",
        "payment_status": "pending",
        "shipping_address": None,
        "created_at": order.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": order.updated_at.isoformat().replace("+00:00", "Z"),
    }


def test_placing_snapshots_prices_as_decimals(as_customer, catalog):
    mug = catalog.add("MUG-1", "19.99")

    place(as_customer, place_body((mug, 3)))

    line = OrderLine.objects.get()
    assert (line.unit_price, line.line_total, line.order.total) == (
        Decimal("19.99"),
        Decimal("59.97"),
        Decimal("59.97"),
    )


def test_placing_queues_order_placed_with_the_exact_payload(as_customer, customer_id, catalog):
    mug = catalog.add("MUG-1", "19.99")
    tea = catalog.add("TEA-7", "4.50")

    response = place(as_customer, place_body((mug, 2), (tea, 1)))

    order_id = response.json()["id"]
    assert published() == [
        (
            "order.placed",
            {
                "order_id": order_id,
                "customer_id": str(customer_id),
                "lines": [
                    {"product_id": str(mug), "sku": "MUG-1", "quantity": 2, "unit_price": "19.99"},
                    {"product_id": str(tea), "sku": "TEA-7", "quantity": 1, "unit_price": "4.50"},
                ],
                "total": "44.48",
                "currency": "USD",
                "payment_method": "pm_card_visa",
            },
        )
    ]
    assert OutboxEvent.objects.get().key == order_id


def test_placing_records_pending_in_the_history_by_the_customer(as_customer, customer_id, catalog):
    mug = catalog.add("MUG-1")

    place(as_customer, place_body((mug, 1)))

    assert list(StatusHistory.objects.values_list("status", "by", "reason")) == [
        ("pending", customer_id, "Placed by the customer.")
    ]


def test_placing_prices_every_line_in_one_batch_call(as_customer, catalog):
    ids = [catalog.add(f"SKU-{n}") for n in range(5)]

    place(as_customer, place_body(*[(product_id, 1) for product_id in ids]))

    assert catalog.requests == [[str(product_id) for product_id in ids]]


def test_the_shipping_address_is_stored_and_returned(as_customer, catalog):
    mug = catalog.add("MUG-1")
    address = {"name": "Ada Lovelace", "street": "12 St James's Square", "city": "London", "country": "GB"}

    response = place(as_customer, place_body((mug, 1), shipping_address=address))

    assert response.json()["shipping_address"] == address
    assert Order.objects.get().shipping_address == address


def test_product_service_down_is_503_within_the_deadline_and_writes_nothing(as_customer, settings):
    point_product_service_at(settings, f"127.0.0.1:{free_port()}")  # nothing listens there

    started = time.monotonic()
    response = place(as_customer, place_body((uuid.uuid4(), 1)))
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "https://shop.example/problems/product-service-unavailable"
    assert elapsed < products.LOOKUP_DEADLINE_SECONDS + 1.0  # it waited for the service, then gave up
    assert nothing_written()


def test_an_order_placed_while_the_product_service_restarts_waits_for_it_and_goes_through(as_customer, settings):
    """The lookup waits for the channel to be ready (within its deadline) instead of failing at once."""
    port = free_port()
    point_product_service_at(settings, f"127.0.0.1:{port}")
    fake = FakeCatalog()
    mug = fake.add("MUG-1")

    def register(server: grpc.Server) -> list[str]:
        product_pb2_grpc.add_ProductServiceServicer_to_server(fake, server)
        return ["shop.product.v1.ProductService"]

    server, _, _ = create_server(port=port, registers=[register])
    starter = threading.Timer(0.5, server.start)  # back half a second after the order was sent
    starter.start()
    try:
        response = place(as_customer, place_body((mug, 1)))
    finally:
        starter.join()
        server.stop(0).wait()

    assert response.status_code == 201, response.content
    assert fake.requests == [[str(mug)]]


def test_product_service_slower_than_the_deadline_is_503(as_customer, catalog, monkeypatch):
    monkeypatch.setattr(products, "LOOKUP_DEADLINE_SECONDS", 0.2)
    catalog.delay = 1.0
    mug = catalog.add("MUG-1")

    started = time.monotonic()
    response = place(as_customer, place_body((mug, 1)))

    assert response.status_code == 503
    assert time.monotonic() - started < 1.0
    assert nothing_written()


def test_an_unknown_product_is_400_naming_it(as_customer, catalog):
    mug = catalog.add("MUG-1")
    unknown = uuid.uuid4()

    response = place(as_customer, place_body((mug, 1), (unknown, 2)))

    assert response.status_code == 400
    assert response.json()["errors"] == {"items.1.product_id": [f"No product has the id {unknown}."]}
    assert nothing_written()


def test_an_inactive_product_is_400_naming_it(as_customer, catalog):
    retired = catalog.add("OLD-1", is_active=False)

    response = place(as_customer, place_body((retired, 1)))

    assert response.status_code == 400
    assert response.json()["errors"] == {"items.0.product_id": [f"Product {retired} (OLD-1) is no longer sold."]}
    assert nothing_written()


def test_every_unsellable_product_is_named_at_once(as_customer, catalog):
    retired = catalog.add("OLD-1", is_active=False)
    unknown = uuid.uuid4()

    response = place(as_customer, place_body((unknown, 1), (retired, 1)))

    assert set(response.json()["errors"]) == {"items.0.product_id", "items.1.product_id"}


def test_products_in_two_currencies_are_400(as_customer, catalog):
    dollars = catalog.add("USD-1", currency="USD")
    euros = catalog.add("EUR-1", currency="EUR")

    response = place(as_customer, place_body((dollars, 1), (euros, 1)))

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "items": ["All products of an order must share one currency; these are in EUR, USD."]
    }
    assert nothing_written()


def test_a_total_too_large_to_store_is_400(as_customer, catalog):
    gold = catalog.add("GOLD-1", "9999999999.99")

    response = place(as_customer, place_body((gold, 2)))

    assert response.status_code == 400
    assert response.json()["errors"] == {"items": ["The total may not exceed 9999999999.99."]}


PRODUCT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
PAYMENT_METHOD_HINT = "Send the payment provider's token, e.g. pm_card_visa: pm_ then 1 to 64 letters, digits or _."


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param({"items": []}, {"items": ["Ensure this field has at least 1 elements."]}, id="no-lines"),
        pytest.param(
            {"items": [{"product_id": str(uuid.uuid4()), "quantity": 1} for _ in range(51)]},
            {"items": ["Ensure this field has no more than 50 elements."]},
            id="51-lines",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 0}]},
            {"items.0.quantity": ["Ensure this value is greater than or equal to 1."]},
            id="quantity-0",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 1001}]},
            {"items.0.quantity": ["Ensure this value is less than or equal to 1000."]},
            id="quantity-1001",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": "2"}]},
            {"items.0.quantity": ["A valid integer is required."]},
            id="quantity-as-text",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 1.5}]},
            {"items.0.quantity": ["A valid integer is required."]},
            id="quantity-fraction",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 1}, {"product_id": PRODUCT, "quantity": 2}]},
            {"items": [f"Product {PRODUCT} appears more than once; send one line per product."]},
            id="duplicate-product",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 1}], "coupon": "FREE"},
            {"coupon": ["Unknown field. Send only items, payment_method, shipping_address."]},
            id="unknown-field",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 1, "price": "0.01"}]},
            {"items.0.price": ["Unknown field. Send only product_id, quantity."]},
            id="unknown-line-field",
        ),
        pytest.param(
            {"items": [{"product_id": "mug", "quantity": 1}]},
            {"items.0.product_id": ["Must be a valid UUID."]},
            id="product-id-not-uuid",
        ),
        pytest.param({}, {"items": ["This field is required."]}, id="no-items"),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 1}], "payment_method": None},
            {"payment_method": ["This field may not be null."]},
            id="payment-method-null",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 1}], "payment_method": "visa"},
            {"payment_method": [PAYMENT_METHOD_HINT]},
            id="payment-method-not-a-token",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 1}], "payment_method": "pm_" + "a" * 65},
            {"payment_method": ["Ensure this field has no more than 67 characters."]},
            id="payment-method-too-long",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 1}], "payment_method": "pm_card visa"},
            {"payment_method": [PAYMENT_METHOD_HINT]},
            id="payment-method-with-a-blank",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 1}], "payment_method": 42},
            {"payment_method": [PAYMENT_METHOD_HINT]},
            id="payment-method-a-number",
        ),
        pytest.param(
            {"items": [{"product_id": PRODUCT, "quantity": 1}], "shipping_address": "Baker Street"},
            {"shipping_address": ['Expected a dictionary of items but got type "str".']},
            id="address-not-object",
        ),
    ],
)
def test_an_invalid_body_is_400_and_asks_nothing_of_the_catalog(as_customer, catalog, body, errors):
    response = place(as_customer, {"payment_method": "pm_card_visa"} | body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == errors
    assert catalog.requests == []
    assert nothing_written()


def test_a_missing_idempotency_key_is_400_naming_the_header(as_customer, catalog):
    mug = catalog.add("MUG-1")

    response = place(as_customer, place_body((mug, 1)), key=None)

    assert response.status_code == 400
    assert response.json()["detail"] == "The Idempotency-Key header is required."
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
    assert nothing_written()


def test_an_idempotency_key_over_255_characters_is_400(as_customer, catalog):
    mug = catalog.add("MUG-1")

    response = place(as_customer, place_body((mug, 1)), key="k" * 256)

    assert response.status_code == 400
    assert response.json()["errors"] == {"Idempotency-Key": ["Use at most 255 characters."]}


def test_an_idempotency_key_of_255_characters_is_accepted(as_customer, catalog):
    mug = catalog.add("MUG-1")

    assert place(as_customer, place_body((mug, 1)), key="k" * 255).status_code == 201


def test_placing_without_a_token_is_401(client, catalog):
    response = client.post(URL, place_body((uuid.uuid4(), 1)), content_type="application/json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
