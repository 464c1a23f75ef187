"""The Idempotency-Key: one order per key and request, however often and however concurrently it is sent."""

import threading
import uuid

import pytest
from django.db import connections

from orders.models import IdempotencyKey, Order
from orders.tests.support import place_body
from shared.testing.clients import bearer_client
from shared.testing.outbox import published_types
from shared.testing.tokens import access_token

URL = "/api/v1/orders"


def place(client, body, key):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_repeating_a_request_with_its_key_returns_the_same_order_with_200(as_customer, catalog):
    mug = catalog.add("MUG-1")
    first = place(as_customer, place_body((mug, 2)), "retry-me")

    again = place(as_customer, place_body((mug, 2)), "retry-me")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    assert published_types() == ["order.placed"]


@pytest.mark.django_db
def test_a_repeated_request_is_answered_without_asking_the_catalog_again(as_customer, catalog):
    mug = catalog.add("MUG-1")
    place(as_customer, place_body((mug, 2)), "retry-me")

    place(as_customer, place_body((mug, 2)), "retry-me")

    assert len(catalog.requests) == 1


@pytest.mark.django_db
def test_the_same_body_with_fields_in_another_order_is_the_same_request(as_customer, catalog):
    mug = catalog.add("MUG-1")
    first = place(
        as_customer, {"items": [{"product_id": str(mug), "quantity": 2}], "payment_method": "pm_x"}, "retry-me"
    )

    again = place(
        as_customer, {"payment_method": "pm_x", "items": [{"quantity": 2, "product_id": str(mug).upper()}]}, "retry-me"
    )

    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])


@pytest.mark.django_db
def test_reusing_a_key_with_a_different_body_is_409_and_places_nothing(as_customer, catalog):
    mug = catalog.add("MUG-1")
    place(as_customer, place_body((mug, 2)), "once")

    response = place(as_customer, place_body((mug, 3)), "once")

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "https://shop.example/problems/idempotency-key-reused"
    assert Order.objects.count() == 1
    assert published_types() == ["order.placed"]


@pytest.mark.django_db
def test_keys_belong_to_one_customer(as_customer, as_other_customer, catalog):
    mug = catalog.add("MUG-1")

    mine = place(as_customer, place_body((mug, 1)), "shared-key")
    theirs = place(as_other_customer, place_body((mug, 1)), "shared-key")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.django_db
def test_a_failed_placement_leaves_the_key_free_for_a_retry(as_customer, catalog):
    mug = catalog.add("MUG-1", is_active=False)
    assert place(as_customer, place_body((mug, 1)), "after-fix").status_code == 400
    catalog.products[str(mug)].is_active = True

    response = place(as_customer, place_body((mug, 1)), "after-fix")

    assert response.status_code == 201
    assert IdempotencyKey.objects.get().order_id == uuid.UUID(response.json()["id"])


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_requests_with_one_key_make_one_order(customer_id, catalog):
    mug = catalog.add("MUG-1")
    body = place_body((mug, 1))
    start = threading.Barrier(10)
    answers: list[tuple[int, str]] = []
    failures: list[BaseException] = []

    def send() -> None:
        client = bearer_client(access_token(customer_id))
        try:
            start.wait(timeout=10)
            response = place(client, body, "double-click")
            answers.append((response.status_code, response.json()["id"]))
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    order = Order.objects.get()
    assert sorted(answers) == [(200, str(order.id))] * 9 + [(201, str(order.id))]
    assert published_types() == ["order.placed"]
