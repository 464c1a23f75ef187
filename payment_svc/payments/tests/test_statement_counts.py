"""How many SQL statements the payment's happy path costs (issue 16): a regression guard, not a timing.

Counted as the tests run it: each event applied as the consumer applies it alone (its inbox row
included), inside the test's transaction (a transaction of its own is a savepoint pair here).
"""

import uuid

import pytest
from django.test import override_settings

from payments.models import Payment, PaymentStatus
from payments.providers import get_provider
from payments.tests.factories import inventory_reserved, order_placed
from payments.tests.helpers import apply

pytestmark = pytest.mark.django_db

# Savepoint, inbox row, the lookup, the payment created with order.placed's snapshot (savepoint,
# INSERT, release), its first history row, release.
ORDER_PLACED = 8
# Savepoint, inbox row, the lock, one UPDATE (stock reserved and the authorization asked for), release.
STOCK_RESERVED = 5
# The sandbox's own record (savepoint, lookup, one INSERT, release), then the answer recorded: savepoint,
# lock, one UPDATE, history, payment.authorized (row and NOTIFY), release.
AUTHORIZING = 11


def test_the_happy_path_costs_at_most_eight_five_and_eleven_statements(
    django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    order_id = uuid.uuid4()
    with django_assert_max_num_queries(ORDER_PLACED):
        apply(order_placed(order_id))
    with django_capture_on_commit_callbacks() as authorize, django_assert_max_num_queries(STOCK_RESERVED):
        apply(inventory_reserved(order_id))

    with django_assert_max_num_queries(AUTHORIZING):
        for callback in authorize:
            callback()

    assert Payment.objects.get(order_id=order_id).status == PaymentStatus.AUTHORIZED


@override_settings(PAYMENT_PROVIDER="stripe", STRIPE_API_KEY="sk_test_one", STRIPE_API_BASE="http://127.0.0.1:9")
def test_the_provider_is_built_once_so_its_http_connection_is_reused():
    first = get_provider()

    assert get_provider() is first
    with override_settings(STRIPE_API_KEY="sk_test_two"):
        assert get_provider() is not first  # another configuration, another client
