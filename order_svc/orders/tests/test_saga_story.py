"""The order service's part of a saga story: ``saga_story`` (and --stuck), GetLocalStory, and the whole
story text the admin shows, with the other services over gRPC."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import grpc
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from ops.procs import free_port
from orders.models import Order
from orders.services import LineRequest, order_place
from orders.tests.factories import CustomerFactory, make_order
from orders.tests.support import deliver
from protos.saga.v1 import saga_pb2, saga_pb2_grpc
from shared import grpc_client
from shared.grpc_server import create_server
from shared.saga import story_text
from shared.saga_grpc import register
from shared.testing.grpc import serving

pytestmark = pytest.mark.django_db


def story_of(*order_ids, capsys):
    call_command("saga_story", *map(str, order_ids))
    return json.loads(capsys.readouterr().out)


def test_saga_story_has_the_order_its_history_its_events_and_where_the_answer_was_applied(catalog, capsys):
    mug = catalog.add("MUG-1", "19.99")
    customer = CustomerFactory(email="ann@example.com")
    order = order_place(
        customer_id=customer.id, idempotency_key="k", lines=[LineRequest(mug, 2)], payment_method="pm_card_visa"
    ).order
    lines = [{"product_id": str(mug), "quantity": 2}]
    deliver("inventory.reserved", str(order.id), {"order_id": str(order.id), "lines": lines})
    authorized = {"order_id": str(order.id), "amount": "39.98", "currency": "USD", "provider": "sandbox"}
    deliver("payment.authorized", str(order.id), authorized)

    answer = story_of(order.id, capsys=capsys)

    assert answer["service"] == "order"
    story = answer["stories"][str(order.id)]
    assert story["order"] | {"created_at": None} == {
        "id": str(order.id),
        "status": "confirmed",
        "customer_id": str(customer.id),
        "customer_email": "ann@example.com",
        "total": "39.98",
        "currency": "USD",
        "rejection_reason": "",
        "payment_status": "authorized",
        "created_at": None,
    }
    assert [step["status"] for step in story["history"]] == ["pending", "confirmed"]
    assert [event["type"] for event in story["events"]] == ["order.placed", "order.status_changed", "order.confirmed"]
    assert {event["state"] for event in story["events"]} == {"pending"}  # no relay runs in this test
    assert [row["type"] for row in story["applied"]] == ["inventory.reserved", "payment.authorized"]
    assert story["dead_letters"] == []


def test_saga_story_of_several_orders_answers_for_each_and_an_unknown_one_has_no_order(capsys):
    first, second = make_order(), make_order()
    unknown = uuid.uuid4()

    stories = story_of(first.id, second.id, unknown, capsys=capsys)["stories"]

    assert list(stories) == [str(first.id), str(second.id), str(unknown)]
    assert stories[str(unknown)]["order"] is None
    assert stories[str(unknown)]["history"] == []


def test_saga_story_refuses_a_bad_id_and_a_mix_of_ids_and_stuck():
    with pytest.raises(CommandError, match="'nope' is not an order id"):
        call_command("saga_story", "nope")
    with pytest.raises(CommandError, match="either order ids or --stuck"):
        call_command("saga_story", str(uuid.uuid4()), "--stuck")


def test_stuck_lists_only_pending_orders_older_than_the_threshold_oldest_first(capsys):
    old, older, fresh, old_confirmed = make_order(), make_order(), make_order(), make_order(status="confirmed")
    now = timezone.now()
    Order.objects.filter(pk=old.pk).update(created_at=now - timedelta(minutes=5))
    Order.objects.filter(pk=older.pk).update(created_at=now - timedelta(minutes=9))
    Order.objects.filter(pk=old_confirmed.pk).update(created_at=now - timedelta(minutes=9))

    call_command("saga_story", "--stuck", "--older-than", "60")
    pending = json.loads(capsys.readouterr().out)["pending_orders"]

    assert [row["order_id"] for row in pending] == [str(older.id), str(old.id)]
    assert 535 < pending[0]["age_seconds"] < 600
    assert str(fresh.id) not in {row["order_id"] for row in pending}


@pytest.mark.django_db(transaction=True)
def test_get_local_story_answers_this_services_part_over_grpc(monkeypatch):
    order = make_order()
    with serving(register, monkeypatch) as channel:
        stub = saga_pb2_grpc.SagaServiceStub(channel)
        answer = stub.GetLocalStory(saga_pb2.GetLocalStoryRequest(order_ids=[str(order.id)]), timeout=5)
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetLocalStory(saga_pb2.GetLocalStoryRequest(order_ids=["nope"]), timeout=5)

    assert answer.service == "order"
    assert json.loads(answer.stories_json)["stories"][str(order.id)]["order"]["status"] == "pending"
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class FakeInventory(saga_pb2_grpc.SagaServiceServicer):
    """Inventory's SagaService, answering a reservation for any order."""

    def GetLocalStory(self, request, context):
        stories = {
            order_id: {
                "service": "inventory",
                "order_id": order_id,
                "events": [],
                "applied": [],
                "dead_letters": [],
                "reservation": {
                    "state": "reserved",
                    "created_at": timezone.now().isoformat(timespec="microseconds"),
                    "updated_at": None,
                    "lines": [{"product_id": "p", "sku": "MUG-1", "quantity": 2}],
                },
                "movements": [],
            }
            for order_id in request.order_ids
        }
        return saga_pb2.LocalStory(service="inventory", stories_json=json.dumps({"stories": stories}))


@pytest.fixture
def fake_inventory(settings):
    def add(server):
        saga_pb2_grpc.add_SagaServiceServicer_to_server(FakeInventory(), server)
        return ["shop.saga.v1.SagaService"]

    server, port, _ = create_server(port=0, registers=[add])
    server.start()
    closed = f"127.0.0.1:{free_port()}"  # nothing listens here
    settings.SERVICE_GRPC_TARGETS = {
        **settings.SERVICE_GRPC_TARGETS,
        "inventory": f"127.0.0.1:{port}",
        "user": closed,
        "product": closed,
    }
    grpc_client.reset()
    yield
    grpc_client.reset()
    server.stop(0).wait()


def test_story_text_joins_the_other_services_parts_and_names_those_that_did_not_answer(fake_inventory):
    order = make_order()

    text = story_text(order_id=order.id)

    assert text.splitlines()[0].startswith(f"Order {order.id}: pending, customer ")
    assert "inventory  reservation of 2 x MUG-1 (now reserved)" in text
    assert "  product service did not answer (DEADLINE_EXCEEDED: " in text
    assert "  user service did not answer (DEADLINE_EXCEEDED: " in text
    assert text.splitlines()[-1].startswith("Waiting on: order.placed is not in the order outbox")


def test_the_order_admin_page_shows_the_saga_story_across_services(fake_inventory, admin_client):
    order = make_order()

    response = admin_client.get(f"/admin/orders/order/{order.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Order {order.id}: pending, customer " in page
    assert "inventory  reservation of 2 x MUG-1 (now reserved)" in page
    assert "product service did not answer (DEADLINE_EXCEEDED: " in page
    assert '<pre class="saga-story"' in page
