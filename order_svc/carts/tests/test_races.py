"""Two tabs (here: ten threads, each with its own connection) changing one cart at once lose nothing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest
from django.db import connections
from orders.services import LineRequest

from carts.models import Cart, CartLine
from carts.services import cart_merge, cart_set_quantity

# Every thread commits on its own connection, so the data must be committed too.
pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = uuid.UUID("44444444-4444-4444-8444-444444444444")
THREADS = 10


def all_at_once(work: Callable[[int], None]) -> list[BaseException]:
    """Runs ``work(0..THREADS-1)`` on as many threads released together; returns what they raised."""
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(timeout=10)
            work(index)
        except BaseException as exc:  # reported by the caller: a thread's exception would otherwise vanish
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return failures


def test_concurrent_first_additions_make_one_cart_with_every_line(catalog):
    products = [catalog.add(f"P-{n}") for n in range(THREADS)]

    failures = all_at_once(lambda n: cart_set_quantity(customer_id=CUSTOMER, product_id=products[n], quantity=1))

    assert failures == []
    assert Cart.objects.count() == 1
    assert sorted(CartLine.objects.values_list("product_id", flat=True)) == sorted(products)


def test_concurrent_merges_of_one_product_add_up_without_losing_one(catalog):
    mug = catalog.add("MUG-1")

    failures = all_at_once(lambda n: cart_merge(customer_id=CUSTOMER, items=[LineRequest(mug, n + 1)]))

    assert failures == []
    [line] = CartLine.objects.all()
    assert line.quantity == sum(range(1, THREADS + 1))


def test_concurrent_settings_of_one_new_product_make_one_line_with_one_of_the_quantities(catalog):
    mug = catalog.add("MUG-1")

    failures = all_at_once(lambda n: cart_set_quantity(customer_id=CUSTOMER, product_id=mug, quantity=n + 1))

    assert failures == []
    [line] = CartLine.objects.all()
    assert line.quantity in range(1, THREADS + 1)
