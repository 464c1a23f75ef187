"""How many SQL statements the hot paths of an order cost (issue 16): a regression guard, not a timing.

Counted as the tests run them: inside the test's transaction, so each service's own transaction is a
savepoint pair here (BEGIN/COMMIT in production). The events are applied as the consumer applies them
alone, so the inbox row (which is the duplicate check) is included, and one NOTIFY per transaction
however many events it publishes (shared.events.one_relay_wake).
"""

import pytest

from orders.models import Order, OrderStatus, PaymentStatus
from orders.tests.support import deliver, place_body

pytestmark = pytest.mark.django_db

# Customer check, key lookup, savepoint, key, order, lines, history, outbox row, NOTIFY, release.
PLACING = 10
# Savepoint, inbox row, the one conditional UPDATE, release.
RESERVED = 4
# Savepoint, inbox row, lock, one UPDATE (status and payment status), history, two events' rows,
# one NOTIFY for both, release.
AUTHORIZED = 9


@pytest.fixture
def placed(as_customer, catalog):
    """A first placement (warming caches: the gRPC channel, the customer's token), then the product."""
    product_id = catalog.add("MUG-1", "19.99")
    as_customer.post("/api/v1/orders", place_body((product_id, 1)), format="json", HTTP_IDEMPOTENCY_KEY="warm-up")
    return product_id


def test_placing_an_order_costs_at_most_ten_statements(as_customer, placed, django_assert_max_num_queries):
    with django_assert_max_num_queries(PLACING):
        response = as_customer.post(
            "/api/v1/orders", place_body((placed, 2)), format="json", HTTP_IDEMPOTENCY_KEY="key-1"
        )

    assert response.status_code == 201, response.content
    assert [item["quantity"] for item in response.json()["items"]] == [2]


def test_a_reservation_costs_one_statement_besides_the_inbox(as_customer, placed, django_assert_max_num_queries):
    order = Order.objects.get()
    payload = {"order_id": str(order.id), "lines": [{"product_id": str(placed), "quantity": 1}]}

    with django_assert_max_num_queries(RESERVED):
        deliver("inventory.reserved", str(order.id), payload)

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert order.stock_reserved_at is not None


def test_an_authorization_confirms_in_at_most_nine_statements(as_customer, placed, django_assert_max_num_queries):
    order = Order.objects.get()
    payload = {"order_id": str(order.id), "amount": "19.99", "currency": "USD", "provider": "sandbox"}

    with django_assert_max_num_queries(AUTHORIZED):
        deliver("payment.authorized", str(order.id), payload)

    order.refresh_from_db()
    assert (order.status, order.payment_status) == (OrderStatus.CONFIRMED, PaymentStatus.AUTHORIZED)
