"""Reading, cancelling and moving orders on: who may see and do what, and the 404/409 rules."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus, StatusHistory
from orders.tests.factories import make_order
from shared.testing.outbox import published, published_types

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"


def aged(order, minutes):
    """Backdates ``order`` so "newest first" has something to sort."""
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
    return order


def ids(response):
    return [result["id"] for result in response.json()["results"]]


def status_of(order):
    return Order.objects.get(pk=order.pk).status


# Listing


def test_a_customer_lists_only_their_own_orders_newest_first(as_customer, customer_id):
    older = aged(make_order(customer_id=customer_id), 10)
    newer = aged(make_order(customer_id=customer_id), 1)
    make_order()  # someone else's

    response = as_customer.get(URL)

    assert response.status_code == 200
    assert ids(response) == [str(newer.id), str(older.id)]


def test_the_list_is_paginated(as_customer, customer_id):
    for _ in range(3):
        make_order(customer_id=customer_id)

    body = as_customer.get(URL, {"page_size": 2}).json()

    assert (body["count"], len(body["results"]), body["previous"]) == (3, 2, None)
    assert body["next"].endswith("/api/v1/orders?page=2&page_size=2")


def test_staff_list_every_order(as_staff):
    first, second = aged(make_order(), 5), aged(make_order(), 1)

    assert ids(as_staff.get(URL)) == [str(second.id), str(first.id)]


def test_staff_filter_by_customer_and_status(as_staff):
    customer = uuid.uuid4()
    wanted = make_order(customer_id=customer, status=OrderStatus.CONFIRMED)
    make_order(customer_id=customer, status=OrderStatus.PENDING)
    make_order(status=OrderStatus.CONFIRMED)

    response = as_staff.get(URL, {"customer": str(customer), "status": "confirmed"})

    assert ids(response) == [str(wanted.id)]


def test_a_customer_naming_another_customer_still_sees_only_their_own(as_customer, customer_id):
    mine = make_order(customer_id=customer_id)
    other = make_order()

    response = as_customer.get(URL, {"customer": str(other.customer_id)})

    assert ids(response) == [str(mine.id)]


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"customer": "bob"}, {"customer": ["Must be a valid UUID."]}),
        ({"status": "lost"}, {"status": ['"lost" is not a valid choice.']}),
    ],
)
def test_a_bad_filter_is_400(as_staff, query, errors):
    response = as_staff.get(URL, query)

    assert response.status_code == 400
    assert response.json()["errors"] == errors


# One order


def test_the_owner_reads_their_order(as_customer, customer_id):
    order = make_order(customer_id=customer_id, lines=[("SKU-1", "2.50", 4)])

    response = as_customer.get(f"{URL}/{order.id}")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["total"]) == (str(order.id), "pending", "10.00")
    assert [(item["sku"], item["unit_price"], item["quantity"], item["line_total"]) for item in body["items"]] == [
        ("SKU-1", "2.50", 4, "10.00")
    ]


def test_staff_read_any_order(as_staff):
    order = make_order()

    assert as_staff.get(f"{URL}/{order.id}").status_code == 200


@pytest.mark.parametrize("suffix", ["", "/history"])
def test_another_customers_order_is_404(as_other_customer, customer_id, suffix):
    order = make_order(customer_id=customer_id)

    response = as_other_customer.get(f"{URL}/{order.id}{suffix}")

    assert response.status_code == 404
    assert response.json()["detail"] == "No order has this id."


@pytest.mark.parametrize("suffix", ["", "/history"])
def test_a_missing_order_is_404(as_customer, suffix):
    assert as_customer.get(f"{URL}/{uuid.uuid4()}{suffix}").status_code == 404


@pytest.mark.parametrize("path", ["not-a-uuid", "not-a-uuid/history"])
def test_an_id_that_is_not_a_uuid_is_404(as_customer, path):
    response = as_customer.get(f"{URL}/{path}")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_reading_without_a_token_is_401(client):
    assert client.get(f"{URL}/{uuid.uuid4()}").status_code == 401


# History


def test_the_history_lists_every_status_with_who_when_and_why(as_customer, customer_id, staff_id, as_staff):
    order = make_order(customer_id=customer_id, status=OrderStatus.CONFIRMED)
    as_staff.post(f"{URL}/{order.id}/status", {"status": "shipped"}, format="json")

    response = as_customer.get(f"{URL}/{order.id}/history")

    assert response.status_code == 200
    history = response.json()
    entered = list(StatusHistory.objects.filter(order=order).order_by("at", "id"))
    assert history == [
        {
            "status": "pending",
            "at": entered[0].at.isoformat().replace("+00:00", "Z"),
            "by": str(customer_id),
            "reason": "Placed.",
        },
        {
            "status": "shipped",
            "at": entered[1].at.isoformat().replace("+00:00", "Z"),
            "by": str(staff_id),
            "reason": "",
        },
    ]


# Cancelling


def test_the_owner_cancels_a_pending_order(as_customer, customer_id):
    order = make_order(customer_id=customer_id)

    response = as_customer.post(f"{URL}/{order.id}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert status_of(order) == OrderStatus.CANCELLED


def test_cancelling_publishes_order_cancelled_for_inventory(as_customer, customer_id):
    order = make_order(customer_id=customer_id, status=OrderStatus.CONFIRMED)

    as_customer.post(f"{URL}/{order.id}/cancel", {"reason": "Changed my mind"}, format="json")

    assert published() == [
        (
            "order.status_changed",
            {
                "order_id": str(order.id),
                "from_status": "confirmed",
                "to_status": "cancelled",
                "by": str(customer_id),
                "reason": "Changed my mind",
            },
        ),
        (
            "order.cancelled",
            {"order_id": str(order.id), "customer_id": str(customer_id), "reason": "Changed my mind"},
        ),
    ]


def test_cancelling_is_recorded_in_the_history_by_the_customer(as_customer, customer_id):
    order = make_order(customer_id=customer_id)

    as_customer.post(f"{URL}/{order.id}/cancel")

    assert StatusHistory.objects.filter(order=order).values_list("status", "by", "reason").last() == (
        "cancelled",
        customer_id,
        "Cancelled by the customer.",
    )


@pytest.mark.parametrize(
    "status", [OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.REJECTED, OrderStatus.CANCELLED]
)
def test_cancelling_an_order_past_confirmation_is_409_and_changes_nothing(as_customer, customer_id, status):
    order = make_order(customer_id=customer_id, status=status)

    response = as_customer.post(f"{URL}/{order.id}/cancel")

    assert response.status_code == 409
    assert response.json()["type"] == "https://shop.example/problems/illegal-transition"
    assert status_of(order) == status
    assert published() == []


def test_another_customer_cannot_cancel_and_learns_nothing(as_other_customer, customer_id):
    order = make_order(customer_id=customer_id)

    response = as_other_customer.post(f"{URL}/{order.id}/cancel")

    assert response.status_code == 404
    assert status_of(order) == OrderStatus.PENDING
    assert published() == []


def test_staff_cancel_any_order(as_staff, staff_id):
    order = make_order()

    response = as_staff.post(f"{URL}/{order.id}/cancel")

    assert response.status_code == 200
    assert StatusHistory.objects.filter(order=order).values_list("by", "reason").last() == (
        staff_id,
        "Cancelled by staff.",
    )


def test_an_unknown_field_in_a_cancellation_is_400(as_customer, customer_id):
    order = make_order(customer_id=customer_id)

    response = as_customer.post(f"{URL}/{order.id}/cancel", {"refund": True}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"refund": ["Unknown field. Send only reason."]}
    assert status_of(order) == OrderStatus.PENDING


# Staff moving an order on


def test_staff_ship_a_confirmed_order(as_staff, staff_id):
    order = make_order(status=OrderStatus.CONFIRMED)

    response = as_staff.post(f"{URL}/{order.id}/status", {"status": "shipped"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "shipped"
    assert published() == [
        (
            "order.status_changed",
            {
                "order_id": str(order.id),
                "from_status": "confirmed",
                "to_status": "shipped",
                "by": str(staff_id),
                "reason": "",
            },
        ),
        (
            "order.shipped",
            {
                "order_id": str(order.id),
                "customer_id": str(order.customer_id),
                "lines": [{"product_id": str(order.lines.get().product_id), "quantity": 1}],
            },
        ),
    ]


def test_shipping_publishes_one_order_shipped_with_every_line_of_the_order(as_staff):
    order = make_order(status=OrderStatus.CONFIRMED, lines=[("KITE", "5.00", 3), ("BALL", "1.00", 2)])
    kite, ball = order.lines.get(sku="KITE"), order.lines.get(sku="BALL")

    as_staff.post(f"{URL}/{order.id}/status", {"status": "shipped"}, format="json")

    shipped = [payload for event_type, payload in published() if event_type == "order.shipped"]
    assert len(shipped) == 1
    assert sorted((line["product_id"], line["quantity"]) for line in shipped[0]["lines"]) == sorted(
        [(str(kite.product_id), 3), (str(ball.product_id), 2)]
    )


def test_staff_deliver_a_shipped_order(as_staff):
    order = make_order(status=OrderStatus.SHIPPED)

    response = as_staff.post(f"{URL}/{order.id}/status", {"status": "delivered"}, format="json")

    assert (response.status_code, status_of(order)) == (200, OrderStatus.DELIVERED)


def test_delivering_publishes_no_shipment(as_staff):
    order = make_order(status=OrderStatus.SHIPPED)

    as_staff.post(f"{URL}/{order.id}/status", {"status": "delivered"}, format="json")

    assert published_types() == ["order.status_changed"]


@pytest.mark.parametrize(
    ("status", "target"),
    [(OrderStatus.PENDING, "shipped"), (OrderStatus.CONFIRMED, "delivered"), (OrderStatus.DELIVERED, "shipped")],
)
def test_an_illegal_status_change_is_409_and_changes_nothing(as_staff, status, target):
    order = make_order(status=status)

    response = as_staff.post(f"{URL}/{order.id}/status", {"status": target}, format="json")

    assert response.status_code == 409
    assert status_of(order) == status
    assert StatusHistory.objects.filter(order=order).count() == 1
    assert published_types() == []


@pytest.mark.parametrize("target", ["confirmed", "cancelled", "lost", ""])
def test_staff_may_set_only_shipped_or_delivered(as_staff, target):
    order = make_order(status=OrderStatus.PENDING)

    response = as_staff.post(f"{URL}/{order.id}/status", {"status": target}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["status"]
    assert status_of(order) == OrderStatus.PENDING


def test_a_customer_may_not_change_the_status_of_even_their_own_order(as_customer, customer_id):
    order = make_order(customer_id=customer_id, status=OrderStatus.CONFIRMED)

    response = as_customer.post(f"{URL}/{order.id}/status", {"status": "shipped"}, format="json")

    assert response.status_code == 403
    assert status_of(order) == OrderStatus.CONFIRMED


def test_a_status_change_of_a_missing_order_is_404(as_staff):
    response = as_staff.post(f"{URL}/{uuid.uuid4()}/status", {"status": "shipped"}, format="json")

    assert response.status_code == 404
