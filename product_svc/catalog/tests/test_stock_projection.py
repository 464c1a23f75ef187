"""inventory.changed keeps the ``available`` projection, through the real consumer's apply_event."""

import logging
import threading
import uuid

import pytest
from django.db import connection, transaction

from catalog.models import Product
from catalog.services import product_apply_stock
from catalog.tests.factories import ProductFactory
from shared.consumer import Outcome, apply_event
from shared.events import Envelope
from shared.models import ProcessedEvent
from shared.testing import wait_until

pytestmark = pytest.mark.django_db


def stock_changed(product_id, *, available: int, stock_version: int, sku: str = "SKU-1") -> Envelope:
    return Envelope(
        type="inventory.changed",
        key=str(product_id),
        payload={
            "product_id": str(product_id),
            "sku": sku,
            "on_hand": available + 2,
            "reserved": 2,
            "available": available,
            "stock_version": stock_version,
        },
    )


def apply(envelope: Envelope) -> Outcome:
    envelope.validate()  # as the consumer does before applying: the test events must fit the schema
    return apply_event(envelope, topic="inventory", partition=0, offset=1)


def stock_of(product) -> tuple[int, int]:
    stored = Product.objects.get(pk=product.pk)
    return stored.available, stored.stock_version


def test_a_newer_version_sets_available_and_the_version():
    product = ProductFactory(available=0, stock_version=0)

    assert apply(stock_changed(product.pk, available=7, stock_version=3)) is Outcome.APPLIED

    assert stock_of(product) == (7, 3)
    assert ProcessedEvent.objects.count() == 1


def test_an_older_version_is_ignored():
    product = ProductFactory(available=5, stock_version=5)

    assert apply(stock_changed(product.pk, available=1, stock_version=4)) is Outcome.APPLIED

    assert stock_of(product) == (5, 5)


def test_the_same_version_again_is_ignored():
    product = ProductFactory(available=5, stock_version=5)

    apply(stock_changed(product.pk, available=9, stock_version=5))

    assert stock_of(product) == (5, 5)


def test_versions_arriving_out_of_order_end_at_the_newest():
    product = ProductFactory()

    for version, available in [(2, 20), (4, 40), (3, 30), (1, 10)]:
        apply(stock_changed(product.pk, available=available, stock_version=version))

    assert stock_of(product) == (40, 4)


def test_a_redelivered_event_is_a_duplicate_with_no_second_effect():
    product = ProductFactory()
    event = stock_changed(product.pk, available=7, stock_version=3)
    apply(event)
    Product.objects.filter(pk=product.pk).update(available=0, stock_version=0)  # would show a second application

    assert apply(event) is Outcome.DUPLICATE

    assert stock_of(product) == (0, 0)
    assert ProcessedEvent.objects.count() == 1


def test_stock_does_not_touch_updated_at():
    product = ProductFactory()

    apply(stock_changed(product.pk, available=7, stock_version=1))

    assert Product.objects.get(pk=product.pk).updated_at == product.updated_at


def test_an_unknown_product_is_a_logged_no_op(caplog):
    product_id = uuid.uuid4()

    with caplog.at_level(logging.WARNING, logger="catalog.services"):
        outcome = apply(stock_changed(product_id, available=7, stock_version=1))

    assert outcome is Outcome.APPLIED
    assert Product.objects.count() == 0
    assert [record.getMessage() for record in caplog.records] == [
        f"stock for unknown product {product_id} (version 1); ignored"
    ]


def test_product_apply_stock_says_whether_it_applied():
    product = ProductFactory(stock_version=2)

    assert product_apply_stock(product_id=product.pk, available=1, stock_version=3) is True
    assert product_apply_stock(product_id=product.pk, available=9, stock_version=3) is False
    assert product_apply_stock(product_id=uuid.uuid4(), available=9, stock_version=9) is False


def test_the_update_is_one_conditional_statement(django_assert_num_queries):
    product = ProductFactory(stock_version=2)

    with django_assert_num_queries(1) as captured:
        product_apply_stock(product_id=product.pk, available=1, stock_version=3)

    sql = captured.captured_queries[0]["sql"]
    assert sql.startswith('UPDATE "catalog_product"')
    assert '"stock_version" < 3' in sql


def test_the_listing_shows_the_projection(client):
    product = ProductFactory(sku="STOCKED")
    apply(stock_changed(product.pk, available=6, stock_version=1))

    body = client.get("/api/v1/products", {"in_stock": "true"}).json()

    assert [(item["sku"], item["available"]) for item in body["results"]] == [("STOCKED", 6)]


@pytest.mark.django_db(transaction=True)
def test_an_older_version_waiting_on_a_newer_one_does_not_overwrite_it():
    """The newer update holds the row; the older one waits, re-checks the version once it may go on, and loses."""
    product = ProductFactory(available=1, stock_version=1)
    newer_written, finish_newer = threading.Event(), threading.Event()
    older_applied: list[bool] = []

    def newer() -> None:
        try:
            with transaction.atomic():
                product_apply_stock(product_id=product.pk, available=50, stock_version=5)
                newer_written.set()
                finish_newer.wait(10)
        finally:
            connection.close()

    def older() -> None:
        try:
            older_applied.append(product_apply_stock(product_id=product.pk, available=20, stock_version=3))
        finally:
            connection.close()

    threads = [threading.Thread(target=newer), threading.Thread(target=older)]
    threads[0].start()
    assert newer_written.wait(10)
    threads[1].start()
    wait_until(lambda: sessions_waiting_on_a_lock() == 1)
    finish_newer.set()
    for thread in threads:
        thread.join(10)

    assert older_applied == [False]
    assert stock_of(product) == (50, 5)


def sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]
