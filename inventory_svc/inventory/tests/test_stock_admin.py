import uuid

import pytest

from inventory.models import Movement, MovementKind, StockItem
from inventory.services import MAX_REASON_LENGTH, StockLine, stock_adjust, stock_reserve, stock_ship
from inventory.tests.factories import StockItemFactory
from shared.testing.outbox import payloads

pytestmark = pytest.mark.django_db


def test_admin_finds_a_stock_row_by_product_id(admin_client):
    wanted = StockItemFactory(sku="WANTED")
    StockItemFactory(sku="OTHER")

    response = admin_client.get("/admin/inventory/stockitem/", {"q": str(wanted.product_id)})

    assert response.status_code == 200
    assert b"WANTED" in response.content
    assert b"OTHER" not in response.content


def test_admin_changes_only_the_low_stock_threshold(admin_client):
    stock = StockItemFactory(sku="KEEP", on_hand=4)

    response = admin_client.post(
        f"/admin/inventory/stockitem/{stock.pk}/change/",
        {"low_stock_threshold": "9", "on_hand": "999", "sku": "CHANGED", "is_active": ""},
    )

    assert response.status_code == 302
    stock.refresh_from_db()
    assert (stock.low_stock_threshold, stock.on_hand, stock.sku, stock.is_active) == (9, 4, "KEEP", True)


def test_admin_cannot_add_stock_rows(admin_client):
    assert admin_client.get("/admin/inventory/stockitem/add/").status_code == 403
    assert StockItem.objects.count() == 0


def test_the_low_stock_filter_keeps_rows_at_or_below_their_threshold(admin_client):
    StockItemFactory(sku="LOW-ONE", on_hand=6, reserved=2, low_stock_threshold=4)
    StockItemFactory(sku="PLENTY", on_hand=60)

    response = admin_client.get("/admin/inventory/stockitem/", {"low_stock": "true"})

    assert response.status_code == 200
    assert b"LOW-ONE" in response.content
    assert b"PLENTY" not in response.content


def test_the_adjustment_form_is_served(admin_client):
    stock = StockItemFactory(sku="KITE", on_hand=3)

    response = admin_client.get(f"/admin/inventory/stockitem/{stock.pk}/adjust/")

    assert response.status_code == 200
    assert b"Adjust stock" in response.content


def test_an_admin_adjustment_goes_through_the_service_with_the_admins_name(admin_client, admin_user):
    stock = StockItemFactory(on_hand=3)

    response = admin_client.post(f"/admin/inventory/stockitem/{stock.pk}/adjust/", {"delta": "4", "reason": "delivery"})

    assert response.status_code == 302
    stock.refresh_from_db()
    assert (stock.on_hand, stock.stock_version) == (7, 1)
    movement = Movement.objects.get()
    assert (movement.kind, movement.on_hand_delta, movement.actor, movement.reason) == (
        MovementKind.ADJUSTMENT,
        4,
        None,
        f"delivery (admin: {admin_user.username})",
    )
    assert payloads("inventory.changed")[0]["on_hand"] == 7


def test_an_admin_adjustment_below_reserved_is_shown_on_the_form_and_changes_nothing(admin_client):
    stock = StockItemFactory(on_hand=3, reserved=2)

    response = admin_client.post(f"/admin/inventory/stockitem/{stock.pk}/adjust/", {"delta": "-2", "reason": "count"})

    assert response.status_code == 200
    assert b"at most 1 can be removed" in response.content
    assert (StockItem.objects.get().on_hand, Movement.objects.count()) == (3, 0)


def test_an_admin_adjustment_of_zero_is_refused(admin_client):
    stock = StockItemFactory(on_hand=3)

    response = admin_client.post(f"/admin/inventory/stockitem/{stock.pk}/adjust/", {"delta": "0", "reason": "count"})

    assert response.status_code == 200
    assert Movement.objects.count() == 0


def test_an_admin_reason_that_the_username_makes_too_long_is_refused_on_the_form(admin_client):
    stock = StockItemFactory(on_hand=3)
    reason = "x" * MAX_REASON_LENGTH  # the form takes it; with " (admin: ...)" appended the service does not

    response = admin_client.post(f"/admin/inventory/stockitem/{stock.pk}/adjust/", {"delta": "1", "reason": reason})

    assert response.status_code == 200
    assert f"at most {MAX_REASON_LENGTH} characters" in response.content.decode()
    assert Movement.objects.count() == 0


def test_the_ledger_is_listed_in_the_admin(admin_client):
    stock = StockItemFactory(sku="KITE")
    stock_adjust(product_id=stock.product_id, delta=2, reason="first delivery", actor=None)

    response = admin_client.get("/admin/inventory/movement/", {"stock_item__id__exact": stock.pk})

    assert response.status_code == 200
    assert b"first delivery" in response.content


def test_the_admin_ledger_filters_shipments(admin_client):
    stock = StockItemFactory(on_hand=10)
    order_id = uuid.uuid4()
    stock_reserve(order_id=order_id, lines=[StockLine(product_id=stock.product_id, quantity=3)])
    stock_ship(order_id=order_id)

    everything = admin_client.get("/admin/inventory/movement/")
    shipments = admin_client.get("/admin/inventory/movement/", {"kind__exact": "shipment"})

    assert b"?kind__exact=shipment" in everything.content
    assert list(shipments.context["cl"].result_list) == list(Movement.objects.filter(kind=MovementKind.SHIPMENT))
    assert [movement.order_id for movement in shipments.context["cl"].result_list] == [order_id]


def test_the_ledger_cannot_be_added_to_changed_or_deleted_in_the_admin(admin_client):
    stock = StockItemFactory()
    stock_adjust(product_id=stock.product_id, delta=2, reason="delivery", actor=None)
    movement = Movement.objects.get()

    assert admin_client.get("/admin/inventory/movement/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/inventory/movement/{movement.pk}/change/", {"reason": "edited"}).status_code == 403
    )
    assert admin_client.post(f"/admin/inventory/movement/{movement.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Movement.objects.get().reason == "delivery"


def test_reservations_are_read_only_in_the_admin(admin_client):
    stock = StockItemFactory(on_hand=5)
    reservation = stock_reserve(order_id=uuid.uuid4(), lines=[StockLine(product_id=stock.product_id, quantity=2)])

    assert admin_client.get(f"/admin/inventory/reservation/{reservation.pk}/change/").status_code == 200
    assert (
        admin_client.post(f"/admin/inventory/reservation/{reservation.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert admin_client.get("/admin/inventory/reservation/add/").status_code == 403


def test_the_stock_page_links_to_the_adjustment_form_and_the_ledger(admin_client):
    stock = StockItemFactory()

    response = admin_client.get(f"/admin/inventory/stockitem/{stock.pk}/change/")

    assert response.status_code == 200
    assert f"/admin/inventory/stockitem/{stock.pk}/adjust/".encode() in response.content
    assert f"/admin/inventory/movement/?stock_item__id__exact={stock.pk}".encode() in response.content
