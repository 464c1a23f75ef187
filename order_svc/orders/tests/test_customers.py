"""The customer projection, fed by user events, and what it decides: a deactivated customer cannot order."""

import uuid

import pytest

from orders.models import Customer, Order
from orders.tests.factories import CustomerFactory
from orders.tests.support import deliver, place_body

pytestmark = pytest.mark.django_db


def user_payload(user_id, **changes):
    return {
        "user_id": str(user_id),
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "role": "customer",
        "is_active": True,
    } | changes


def projection(user_id):
    customer = Customer.objects.get(pk=user_id)
    return (customer.email, customer.role, customer.is_active)


def test_a_registered_user_becomes_a_customer():
    user_id = uuid.uuid4()

    deliver("user.registered", str(user_id), user_payload(user_id, date_joined="2026-01-02T03:04:05Z"))

    assert projection(user_id) == ("ada@example.com", "customer", True)


def test_an_updated_user_updates_the_customer():
    user_id = uuid.uuid4()
    deliver("user.registered", str(user_id), user_payload(user_id, date_joined="2026-01-02T03:04:05Z"))

    deliver("user.updated", str(user_id), user_payload(user_id, email="ada@lovelace.example", role="staff"))

    assert projection(user_id) == ("ada@lovelace.example", "staff", True)


def test_an_update_for_a_user_never_seen_creates_the_customer():
    user_id = uuid.uuid4()

    deliver("user.updated", str(user_id), user_payload(user_id))

    assert projection(user_id) == ("ada@example.com", "customer", True)


def test_applying_the_same_update_twice_leaves_one_row_as_it_was():
    user_id = uuid.uuid4()
    deliver("user.updated", str(user_id), user_payload(user_id))

    deliver("user.updated", str(user_id), user_payload(user_id))

    assert Customer.objects.count() == 1
    assert projection(user_id) == ("ada@example.com", "customer", True)


def test_a_deactivated_user_becomes_an_inactive_customer():
    customer = CustomerFactory(email="grace@example.com")

    deliver("user.deactivated", str(customer.id), {"user_id": str(customer.id)})

    assert projection(customer.id) == ("grace@example.com", "customer", False)


def test_a_deactivation_of_a_user_never_seen_is_remembered():
    user_id = uuid.uuid4()

    deliver("user.deactivated", str(user_id), {"user_id": str(user_id)})

    assert projection(user_id) == ("", "customer", False)


def test_a_deactivated_customer_cannot_place_an_order(as_customer, customer_id, catalog):
    CustomerFactory(id=customer_id, is_active=False)
    mug = catalog.add("MUG-1")

    response = as_customer.post("/api/v1/orders", place_body((mug, 1)), format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 403
    assert response.json()["detail"] == "This account is deactivated and cannot place orders."
    assert Order.objects.count() == 0
    assert catalog.requests == []


def test_an_active_customer_in_the_projection_may_order(as_customer, customer_id, catalog):
    CustomerFactory(id=customer_id, is_active=True)
    mug = catalog.add("MUG-1")

    response = as_customer.post("/api/v1/orders", place_body((mug, 1)), format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 201


def test_a_customer_the_projection_has_not_seen_yet_may_order(as_customer, catalog):
    mug = catalog.add("MUG-1")

    response = as_customer.post("/api/v1/orders", place_body((mug, 1)), format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 201
    assert Customer.objects.count() == 0
