"""POST /api/v1/orders with bodies that used to be 500s (issue 11): each is a 400 problem that names it."""

import json
import uuid

import pytest

from orders.models import IdempotencyKey, Order

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"


def post_raw(client, text: str):
    return client.post(URL, text, content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)


def body_with_address(address_json: str) -> str:
    item = json.dumps({"product_id": str(uuid.uuid4()), "quantity": 1})
    return f'{{"items": [{item}], "shipping_address": {address_json}}}'


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (body_with_address('{"l": "a\\u0000b"}'), "NUL character (\\u0000) at $.shipping_address.l"),
        (body_with_address('{"l": "\\ud800"}'), "lone surrogate (\\ud800) at $.shipping_address.l"),
        ("[" * 940 + "]" * 940, "deeper than 32 levels"),
        ('{"items": [{"product_id": "x", "quantity": 1e400}]}', "number too large"),
        ('{"items": [{"product_id": "x", "quantity": ' + "9" * 5000 + "}]}", "integer too large"),
    ],
    ids=["nul", "lone-surrogate", "deep-nesting", "huge-float", "huge-integer"],
)
def test_a_hostile_body_is_a_400_problem_naming_it_and_writes_nothing(as_customer, text, named):
    response = post_raw(as_customer, text)

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert named in response.json()["detail"]
    assert (Order.objects.count(), IdempotencyKey.objects.count()) == (0, 0)
