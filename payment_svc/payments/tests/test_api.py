"""GET /api/v1/payments/{order_id}: staff read an order's payment; customers may not."""

import uuid
from decimal import Decimal

import pytest

from payments.tests.factories import inventory_reserved, order_placed
from payments.tests.helpers import apply_committed

pytestmark = pytest.mark.django_db


@pytest.fixture
def authorized(django_capture_on_commit_callbacks) -> uuid.UUID:
    order_id = uuid.uuid4()
    apply_committed(
        django_capture_on_commit_callbacks, order_placed(order_id, total=Decimal("19.99")), inventory_reserved(order_id)
    )
    return order_id


def test_staff_read_the_payment_with_its_history(as_staff, authorized):
    response = as_staff.get(f"/api/v1/payments/{authorized}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert {key: body[key] for key in body if key != "history"} == {
        "order_id": str(authorized),
        "status": "authorized",
        "amount": "19.99",
        "currency": "USD",
        "provider": "sandbox",
        "failure_reason": "",
        "attempts": 1,
    }
    assert [entry["status"] for entry in body["history"]] == ["requires_authorization", "authorized"]
    assert all(set(entry) == {"status", "at"} for entry in body["history"])


def test_a_customer_is_refused(as_customer, authorized):
    response = as_customer.get(f"/api/v1/payments/{authorized}")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_anonymous_callers_must_sign_in(anonymous, authorized):
    assert anonymous.get(f"/api/v1/payments/{authorized}").status_code == 401


@pytest.mark.parametrize("order_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_order_is_404_problem_json(as_staff, order_id):
    response = as_staff.get(f"/api/v1/payments/{order_id}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert "has not heard of it" in response.json()["detail"]


def test_only_get_is_answered(as_staff, authorized):
    response = as_staff.post(f"/api/v1/payments/{authorized}", {}, format="json")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
