"""manage.py seed_demo: the demo products get 5 to 100 units each, once, through stock_adjust."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from inventory.demo import DEMO_REASON, demo_quantity
from inventory.models import Movement, MovementKind, StockItem
from inventory.services import stock_adjust
from inventory.tests.factories import StockItemFactory

pytestmark = pytest.mark.django_db


def seed(**options) -> None:
    call_command("seed_demo", timeout=0, **options)


@pytest.fixture
def demo_rows() -> list[StockItem]:
    return [StockItemFactory(sku=f"DEMO-{number:04}") for number in range(1, 4)]


def test_demo_quantities_are_deterministic_and_between_5_and_100():
    quantities = [demo_quantity(f"DEMO-{number:04}") for number in range(1, 51)]

    assert quantities == [demo_quantity(f"DEMO-{number:04}") for number in range(1, 51)]
    assert all(5 <= quantity <= 100 for quantity in quantities)
    assert len(set(quantities)) > 10


def test_seeding_stocks_each_demo_product_with_its_demo_quantity(demo_rows):
    other = StockItemFactory(sku="REAL-1")

    seed(expect=3)

    for stock in demo_rows:
        stock.refresh_from_db()
        assert stock.on_hand == demo_quantity(stock.sku)
    assert StockItem.objects.get(pk=other.pk).on_hand == 0
    assert set(Movement.objects.values_list("kind", "reason", "actor")) == {
        (MovementKind.ADJUSTMENT, DEMO_REASON, None)
    }
    assert Movement.objects.count() == 3


def test_seeding_twice_stocks_once(demo_rows):
    seed(expect=3)

    seed(expect=3)

    assert Movement.objects.count() == 3
    assert [stock.on_hand for stock in StockItem.objects.order_by("sku")] == [
        demo_quantity(stock.sku) for stock in sorted(demo_rows, key=lambda row: row.sku)
    ]


def test_a_demo_product_staff_already_adjusted_is_left_alone(demo_rows):
    adjusted = demo_rows[0]
    stock_adjust(product_id=adjusted.product_id, delta=1, reason="counted", actor=None)

    seed(expect=3)

    assert StockItem.objects.get(pk=adjusted.pk).on_hand == 1
    assert Movement.objects.filter(reason=DEMO_REASON).count() == 2


def test_seeding_gives_up_when_the_demo_stock_rows_do_not_arrive(demo_rows):
    with pytest.raises(CommandError, match="Only 3 of 50 demo stock rows"):
        seed()

    assert Movement.objects.count() == 0


def test_seeding_is_refused_in_production(settings, demo_rows):
    settings.DJANGO_ENV = "production"

    with pytest.raises(CommandError, match="never seeded in production"):
        seed(expect=3)

    assert Movement.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_seeding_waits_for_demo_stock_rows_still_arriving():
    StockItemFactory(sku="DEMO-0001")

    def product_created_later() -> None:
        StockItemFactory(sku="DEMO-0002")
        connection.close()

    arrival = threading.Timer(0.3, product_created_later)
    arrival.start()
    try:
        call_command("seed_demo", expect=2, timeout=30)
    finally:
        arrival.join()

    assert sorted(StockItem.objects.values_list("sku", "on_hand")) == [
        ("DEMO-0001", demo_quantity("DEMO-0001")),
        ("DEMO-0002", demo_quantity("DEMO-0002")),
    ]
