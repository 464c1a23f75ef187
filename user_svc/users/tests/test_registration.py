import re

import pytest
from django.core.management import call_command
from django.db import IntegrityError

from shared.errors import Conflict, InvalidInput
from shared.events import publish
from shared.models import OutboxEvent
from users import services
from users.models import Role, User
from users.services import user_register

pytestmark = pytest.mark.django_db

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def test_register_creates_the_user_and_publishes_exactly_one_user_registered_event():
    user = user_register(email="Ada@Example.com", password="correct-horse-battery", first_name="Ada", last_name="L")

    row = OutboxEvent.objects.get()
    assert (row.event_type, row.topic, row.key) == ("user.registered", "users", str(user.id))
    assert row.envelope["type"] == "user.registered"
    assert row.envelope["source"] == "user"
    assert row.envelope["payload"] == {
        "user_id": str(user.id),
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "L",
        "role": "customer",
        "is_active": True,
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }
    assert RFC3339_UTC.match(row.envelope["payload"]["date_joined"])
    assert user.check_password("correct-horse-battery")
    assert (user.role, user.is_staff) == (Role.CUSTOMER, False)


def test_register_with_a_taken_email_is_a_conflict_and_leaves_no_second_user_or_event():
    user_register(email="taken@example.com", password="correct-horse-battery")

    with pytest.raises(Conflict):
        user_register(email="TAKEN@example.com", password="another-fine-secret")

    assert User.objects.count() == 1
    assert OutboxEvent.objects.count() == 1


def test_failure_after_the_publish_rolls_back_both_user_and_event(monkeypatch):
    def publish_then_fail(envelope, **kwargs):
        publish(envelope, **kwargs)
        raise IntegrityError("simulated failure after the event was written")

    monkeypatch.setattr(services, "publish", publish_then_fail)

    with pytest.raises(IntegrityError, match="simulated"):
        user_register(email="ghost@example.com", password="correct-horse-battery")

    assert User.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


@pytest.mark.parametrize("password", ["short", "12345678901", "password123", "ada.lovelace"])
def test_register_refuses_a_weak_password_and_writes_nothing(password):
    with pytest.raises(InvalidInput) as refused:
        user_register(email="ada.lovelace@example.com", password=password)

    assert list(refused.value.errors) == ["password"]

    assert User.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


def test_staff_registration_carries_the_staff_role_in_the_event():
    user_register(email="boss@example.com", password="correct-horse-battery", role=Role.STAFF)

    assert OutboxEvent.objects.get().envelope["payload"]["role"] == "staff"


def test_seeding_registers_each_demo_user_once_with_one_event_each(monkeypatch):
    monkeypatch.setenv("SEED_PASSWORD", "seeded-pass-42")
    call_command("seed_demo")
    call_command("seed_demo")

    events = OutboxEvent.objects.order_by("id")
    assert [row.event_type for row in events] == ["user.registered", "user.registered"]
    assert sorted(row.envelope["payload"]["email"] for row in events) == ["customer@example.com", "staff@example.com"]
    staff = User.objects.get(email="staff@example.com")
    customer = User.objects.get(email="customer@example.com")
    assert (staff.is_staff, customer.is_staff) == (True, False)
