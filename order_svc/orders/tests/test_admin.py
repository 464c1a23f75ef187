"""The admin's actions go through the state machine, so they are checked, recorded and announced."""

import uuid

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order, OrderStatus, StatusHistory
from orders.tests.factories import CustomerFactory, make_order
from shared.models import StaffAccount
from shared.testing.outbox import published, published_types

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/orders/order/"


def run_action(admin_client, action, orders):
    return admin_client.post(
        CHANGELIST, {"action": action, "_selected_action": [str(order.pk) for order in orders]}, follow=True
    )


def status_of(order):
    return Order.objects.get(pk=order.pk).status


def test_mark_shipped_moves_confirmed_orders_with_history_and_events(admin_client):
    order = make_order(status=OrderStatus.CONFIRMED)

    response = run_action(admin_client, "mark_shipped", [order])

    assert response.status_code == 200
    assert status_of(order) == OrderStatus.SHIPPED
    assert StatusHistory.objects.filter(order=order).values_list("status", "by", "reason").last() == (
        "shipped",
        None,
        "Shipped in the admin by admin.",
    )
    assert published_types() == ["order.status_changed", "order.shipped"]


def test_mark_delivered_moves_shipped_orders(admin_client):
    order = make_order(status=OrderStatus.SHIPPED)

    run_action(admin_client, "mark_delivered", [order])

    assert status_of(order) == OrderStatus.DELIVERED


def test_cancel_publishes_order_cancelled(admin_client):
    order = make_order(status=OrderStatus.CONFIRMED)

    run_action(admin_client, "cancel_orders", [order])

    assert status_of(order) == OrderStatus.CANCELLED
    assert published()[-1] == (
        "order.cancelled",
        {
            "order_id": str(order.id),
            "customer_id": str(order.customer_id),
            "reason": "Cancelled in the admin by admin.",
        },
    )


def test_an_illegal_action_is_reported_and_the_legal_ones_still_happen(admin_client):
    pending = make_order(status=OrderStatus.PENDING)
    confirmed = make_order(status=OrderStatus.CONFIRMED)

    response = run_action(admin_client, "mark_shipped", [pending, confirmed])

    assert response.status_code == 200
    assert (status_of(pending), status_of(confirmed)) == (OrderStatus.PENDING, OrderStatus.SHIPPED)
    assert {str(message) for message in get_messages(response.wsgi_request)} == {
        "1 order(s) now shipped.",
        f"{pending.id}: An order that is pending cannot become shipped; "
        "from pending it can only become cancelled or confirmed or rejected.",
    }


def test_the_changelist_searches_by_customer_and_filters_by_status(admin_client):
    wanted = make_order(status=OrderStatus.CONFIRMED)
    make_order(customer_id=wanted.customer_id, status=OrderStatus.PENDING)
    make_order(status=OrderStatus.CONFIRMED)

    response = admin_client.get(CHANGELIST, {"q": str(wanted.customer_id), "status__exact": "confirmed"})

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [wanted]


def test_the_order_page_shows_its_lines_and_history(admin_client):
    order = make_order(lines=[("MUG-1", "19.99", 2)])

    response = admin_client.get(f"{CHANGELIST}{order.pk}/change/")

    assert response.status_code == 200
    assert b"MUG-1" in response.content
    assert b"Placed." in response.content


# The customer's email, from the customer projection


def test_the_order_list_shows_each_customers_email(admin_client):
    order = make_order(customer_id=CustomerFactory(email="grace@example.com").id)

    page = admin_client.get(CHANGELIST).content.decode()

    assert "grace@example.com" in page
    assert str(order.id) in page


def test_the_order_list_reads_emails_in_one_query_whatever_the_number_of_customers(admin_client):
    make_order(customer_id=CustomerFactory().id)
    with CaptureQueriesContext(connection) as one_customer:
        admin_client.get(CHANGELIST)
    for _ in range(5):
        make_order(customer_id=CustomerFactory().id)

    with CaptureQueriesContext(connection) as six_customers:
        admin_client.get(CHANGELIST)

    assert len(six_customers) == len(one_customer)


def test_the_order_page_shows_the_customers_email_lines_and_history(admin_client):
    order = make_order(customer_id=CustomerFactory(email="grace@example.com").id)

    page = admin_client.get(f"{CHANGELIST}{order.pk}/change/").content.decode()

    assert "grace@example.com" in page
    assert "Order lines" in page
    assert "Status history" in page


def test_searching_by_part_of_an_email_finds_that_customers_orders_only(admin_client):
    wanted = make_order(customer_id=CustomerFactory(email="grace@example.com").id)
    other = make_order(customer_id=CustomerFactory(email="ada@example.com").id)

    page = admin_client.get(CHANGELIST, {"q": "GRACE@"}).content.decode()

    assert str(wanted.id) in page
    assert str(other.id) not in page


def test_an_order_whose_customer_is_not_projected_yet_still_lists(admin_client):
    order = make_order()

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert str(order.id) in response.content.decode()


def test_a_transition_by_a_user_svc_staff_member_records_their_user_id(client):
    staff_user = User.objects.create_user("sam@example.com", is_staff=True, is_superuser=True)
    remote_id = uuid.uuid4()
    StaffAccount.objects.create(
        user=staff_user, remote_id=remote_id, email="sam@example.com", checked_at=timezone.now()
    )
    client.force_login(staff_user)
    order = make_order(status=OrderStatus.CONFIRMED)

    run_action(client, "mark_shipped", [order])

    assert StatusHistory.objects.filter(order=order).values_list("status", "by").last() == ("shipped", remote_id)
