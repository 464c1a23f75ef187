"""How many SQL statements reserving an order's stock costs (issue 16): a regression guard, not a timing.

Counted as the tests run it: the event applied as the consumer applies it alone (its inbox row included),
inside the test's transaction (the consumer's transaction is a savepoint pair here).
"""

import uuid

import pytest

from inventory.models import Reservation, ReservationState, StockItem
from inventory.tests.factories import StockItemFactory, order_placed
from inventory.tests.helpers import apply

pytestmark = pytest.mark.django_db

# Savepoint, inbox row, the order's reservation looked up, the stock row locked, reservation, its line,
# the level UPDATE, the movement, inventory.reserved's and inventory.changed's rows, one NOTIFY for
# both, release.
RESERVING_ONE_LINE = 12
# A further product adds its inventory.changed row and no statement of the handler's own: its line and
# movement go in the same bulk INSERTs, its levels in the same UPDATE as the first product's (was one
# UPDATE per product), and the one NOTIFY wakes the relay for every row.
PER_FURTHER_PRODUCT = 1


def test_reserving_a_one_line_order_costs_at_most_twelve_statements(django_assert_max_num_queries):
    kite = StockItemFactory(on_hand=10)
    order_id = uuid.uuid4()

    with django_assert_max_num_queries(RESERVING_ONE_LINE):
        apply(order_placed(order_id, [(kite.product_id, 2)]))

    assert Reservation.objects.get(order_id=order_id).state == ReservationState.RESERVED
    kite.refresh_from_db()
    assert kite.reserved == 2


def test_a_further_product_adds_only_its_event(django_assert_max_num_queries):
    kite, reel, line = StockItemFactory(on_hand=10), StockItemFactory(on_hand=10), StockItemFactory(on_hand=10)
    order_id = uuid.uuid4()

    with django_assert_max_num_queries(RESERVING_ONE_LINE + 2 * PER_FURTHER_PRODUCT):
        apply(order_placed(order_id, [(kite.product_id, 2), (reel.product_id, 1), (line.product_id, 3)]))

    levels = {item.pk: (item.reserved, item.stock_version) for item in StockItem.objects.all()}
    assert levels == {
        kite.pk: (2, kite.stock_version + 1),
        reel.pk: (1, reel.stock_version + 1),
        line.pk: (3, line.stock_version + 1),
    }
