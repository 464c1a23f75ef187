"""How many SQL statements the payment's happy path costs (issue 16): a regression guard, not a timing.

Counted as the tests run it: each event applied as the consumer applies it alone (its inbox row
included), inside the test's transaction (a transaction of its own is a savepoint pair here).
"""

import uuid
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from payments.models import Payment, PaymentStatus, Step
from payments.providers import get_provider
from payments.services import payment_advance, payment_note_order, payment_note_stock_reserved
from payments.tests.factories import inventory_reserved, order_placed
from payments.tests.helpers import apply

pytestmark = pytest.mark.django_db

# Savepoint, inbox row, release: applying an event alone (shared.consumer), whichever it is.
APPLYING = 3
# The handlers' own statements, on top:
# the payment inserted with order.placed's snapshot (INSERT ... ON CONFLICT DO NOTHING, not get_or_create's
# SELECT, savepoint, INSERT, release) and read under its lock, its first history row.
ORDER_PLACED = APPLYING + 3
# The lock, one UPDATE (stock reserved and the authorization asked for).
STOCK_RESERVED = APPLYING + 2
# Inventory's answer first (the services alone, no inbox): the payment created with the flag set
# (get_or_create: lookup, savepoint, INSERT, release), its first history row; then order.placed's INSERT
# doing nothing, the lock, one UPDATE (the snapshot). As many as before in all: 6 + 2 then.
STOCK_RESERVED_FIRST = 5
ORDER_PLACED_SECOND = 3
# The sandbox's own record (one INSERT, in a savepoint here: not a lookup before it), then the answer
# recorded: savepoint, lock, one UPDATE, history, payment.authorized (row and NOTIFY), release.
AUTHORIZING = 10
# The same as the consumer's commit hook makes it, outside any transaction: the sandbox's INSERT committing
# on its own (it took BEGIN, SELECT ... FOR UPDATE, INSERT, COMMIT), then the answer's transaction: BEGIN,
# lock, UPDATE, history, payment.authorized (row and NOTIFY), COMMIT. Two transactions, as before.
AUTHORIZING_OUTSIDE_A_TRANSACTION = 1 + 7


def test_the_happy_path_costs_at_most_six_five_and_ten_statements(
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


@pytest.mark.django_db(transaction=True)
def test_an_authorization_made_outside_any_transaction_costs_eight_statements(django_assert_max_num_queries):
    payment = Payment.objects.create(
        order_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        amount=Decimal("25.00"),
        currency="USD",
        payment_method="pm_card_visa",
        stock_reserved=True,
        pending_step=Step.AUTHORIZE,
        step_requested_at=timezone.now(),
    )

    with django_assert_max_num_queries(AUTHORIZING_OUTSIDE_A_TRANSACTION):
        payment_advance(order_id=payment.order_id, committed=payment)

    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.AUTHORIZED


def test_inventorys_answer_first_costs_no_update_after_the_insert(django_assert_max_num_queries):
    order_id = uuid.uuid4()
    with django_assert_max_num_queries(STOCK_RESERVED_FIRST):
        payment_note_stock_reserved(order_id=order_id)
    with django_assert_max_num_queries(ORDER_PLACED_SECOND):
        payment_note_order(
            order_id=order_id,
            customer_id=uuid.uuid4(),
            amount=Decimal("25.00"),
            currency="USD",
            payment_method="pm_card_visa",
        )

    payment = Payment.objects.get(order_id=order_id)
    assert (payment.stock_reserved, payment.pending_step, payment.history.count()) == (True, "authorize", 1)


@override_settings(PAYMENT_PROVIDER="stripe", STRIPE_API_KEY="sk_test_one", STRIPE_API_BASE="http://127.0.0.1:9")
def test_the_provider_is_built_once_so_its_http_connection_is_reused():
    first = get_provider()

    assert get_provider() is first
    with override_settings(STRIPE_API_KEY="sk_test_two"):
        assert get_provider() is not first  # another configuration, another client
