import pytest
from django.core.management import call_command
from django.db import IntegrityError

from users.models import Role, User
from users.services import user_ensure
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_create_user_normalises_email_and_defaults_to_customer():
    user = User.objects.create_user("Ada@Example.COM", "correct-horse-battery")
    assert user.email == "ada@example.com"
    assert user.role == Role.CUSTOMER
    assert user.check_password("correct-horse-battery")
    assert not user.is_staff


def test_superuser_is_staff_role():
    user = User.objects.create_superuser("root@example.com", "correct-horse-battery")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.STAFF, True, True)


def test_email_is_unique():
    UserFactory(email="dup@example.com")
    with pytest.raises(IntegrityError):
        UserFactory(email="dup@example.com")


def test_database_refuses_an_unknown_role():
    user = UserFactory()
    user.role = "admin"
    with pytest.raises(IntegrityError):
        user.save(update_fields=["role"])


def test_user_ensure_keeps_an_existing_user():
    first = user_ensure(email="keep@example.com", password="correct-horse-battery", first_name="A")
    again = user_ensure(email="KEEP@example.com", password="other-password-1", first_name="B")
    assert again.pk == first.pk
    assert again.first_name == "A"
    assert again.check_password("correct-horse-battery")


def test_seed_demo_is_idempotent(monkeypatch):
    monkeypatch.setenv("SEED_PASSWORD", "seeded-pass-42")
    call_command("seed_demo")
    call_command("seed_demo")
    staff = User.objects.get(email="staff@example.com")
    customer = User.objects.get(email="customer@example.com")
    assert User.objects.count() == 2
    assert (staff.role, customer.role) == (Role.STAFF, Role.CUSTOMER)
    assert staff.check_password("seeded-pass-42")


def test_seed_demo_refuses_production(settings):
    settings.DJANGO_ENV = "production"
    with pytest.raises(Exception, match="never seeded in production"):
        call_command("seed_demo")
    assert User.objects.count() == 0
