"""POST /api/v1/orders takes a payment provider's token, carries it to the payment service, and refuses card data."""

import pytest

from orders.card_data import looks_like_card_number
from orders.models import IdempotencyKey, Order
from orders.tests.support import place_body
from shared.models import OutboxEvent
from shared.testing.outbox import published

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"
VISA = "4242424242424242"  # Stripe's documented test card number: passes the Luhn check


def place(client, body, key="key-1"):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def nothing_written():
    return (Order.objects.count(), IdempotencyKey.objects.count(), OutboxEvent.objects.count()) == (0, 0, 0)


def test_the_order_keeps_its_payment_method_and_starts_with_payment_pending(as_customer, catalog):
    mug = catalog.add("MUG-1")

    body = place(as_customer, place_body((mug, 1), payment_method="pm_card_mastercard")).json()

    assert (body["payment_method"], body["payment_status"]) == ("pm_card_mastercard", "pending")
    assert Order.objects.get().payment_method == "pm_card_mastercard"
    [(event_type, payload)] = published()
    assert (event_type, payload["payment_method"]) == ("order.placed", "pm_card_mastercard")


def test_placing_without_a_payment_method_is_400_and_asks_nothing_of_the_catalog(as_customer, catalog):
    mug = catalog.add("MUG-1")
    body = place_body((mug, 1))
    del body["payment_method"]

    response = place(as_customer, body)

    assert response.status_code == 400
    assert response.json()["errors"] == {"payment_method": ["This field is required."]}
    assert catalog.requests == []
    assert nothing_written()


def test_the_same_key_with_another_payment_method_is_a_different_request(as_customer, catalog):
    mug = catalog.add("MUG-1")
    place(as_customer, place_body((mug, 1), payment_method="pm_card_visa"), "once")

    response = place(as_customer, place_body((mug, 1), payment_method="pm_card_mastercard"), "once")

    assert response.status_code == 409
    assert Order.objects.get().payment_method == "pm_card_visa"


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        pytest.param({"payment_method": VISA}, "payment_method", id="card-number-as-payment-method"),
        pytest.param({"payment_method": "4242 4242 4242 4242"}, "payment_method", id="card-number-with-blanks"),
        pytest.param({"card_number": "pm_card_visa"}, "card_number", id="card-number-field"),
        pytest.param({"number": "x"}, "number", id="number-field-at-the-top"),
        pytest.param({"cvc": "123"}, "cvc", id="cvc-field"),
        pytest.param({"Card-Number": "x"}, "Card-Number", id="card-number-field-spelt-otherwise"),
        pytest.param(
            {"shipping_address": {"street": "Baker Street", "note": "4242-4242-4242-4242"}},
            "shipping_address.note",
            id="card-number-in-the-address",
        ),
        pytest.param(
            {"shipping_address": {"lines": ["x", {"card": {"exp_month": 12}}]}},
            "shipping_address.lines.1.card",
            id="card-field-deep-in-the-address",
        ),
        pytest.param(
            {"shipping_address": {"pay": int(VISA)}}, "shipping_address.pay", id="card-number-as-a-json-integer"
        ),
    ],
)
def test_a_body_with_card_data_is_400_naming_where_and_writes_nothing(as_customer, catalog, extra, where):
    mug = catalog.add("MUG-1")

    response = place(as_customer, place_body((mug, 1)) | extra)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/card-data-refused")
    assert problem["detail"] == (
        "Card details are never sent to the shop. Pay with a payment_method token from the payment "
        "provider (e.g. pm_card_visa) instead."
    )
    assert list(problem["errors"]) == [where]
    assert VISA not in response.content.decode()  # the answer does not echo the card number
    assert catalog.requests == []
    assert nothing_written()


def test_an_address_with_a_house_number_and_a_phone_number_is_accepted(as_customer, catalog):
    mug = catalog.add("MUG-1")
    address = {"street": "Baker Street", "number": "221b", "phone": "+44 20 7946 0958", "account": "123456789012"}

    response = place(as_customer, place_body((mug, 1), shipping_address=address))

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (VISA, True),
        ("5555 5555 5555 4444", True),  # Mastercard test number, grouped
        ("378282246310005", True),  # Amex test number, 15 digits
        ("4242424242424241", False),  # Luhn fails
        ("42424242424", False),  # 11 digits
        ("42424242424242424242", False),  # 20 digits
        ("4242x4242x4242x4242", False),
        ("pm_card_visa", False),
    ],
)
def test_what_looks_like_a_card_number(value, expected):
    assert looks_like_card_number(value) is expected
