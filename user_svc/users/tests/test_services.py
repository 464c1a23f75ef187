"""The user write services: what they change, and the events (outbox rows) each change publishes."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from shared.errors import InvalidInput
from shared.models import OutboxEvent
from users import services
from users.models import Role, User
from users.services import user_save_edited, user_set_access, user_update_profile
from users.tests.factories import UserFactory
from users.tokens import token_pair_for

pytestmark = pytest.mark.django_db


def events():
    return list(OutboxEvent.objects.order_by("id").values_list("event_type", flat=True))


def test_profile_update_returns_the_saved_user_and_publishes_once():
    user = UserFactory(first_name="Ada")

    updated = user_update_profile(user=user, first_name="Augusta")

    assert updated.first_name == "Augusta"
    assert User.objects.get(pk=user.pk).first_name == "Augusta"
    assert events() == ["user.updated"]


def test_profile_update_without_changes_publishes_nothing():
    user = UserFactory(first_name="Ada", last_name="Lovelace")

    user_update_profile(user=user, first_name="Ada", last_name=None)

    assert events() == []


def test_role_change_and_deactivation_together_publish_one_update_and_one_deactivation():
    user = UserFactory()

    user_set_access(user=user, role=Role.STAFF, is_active=False)

    assert events() == ["user.updated", "user.deactivated", "user.tokens_revoked"]
    payload = OutboxEvent.objects.order_by("id").first().envelope["payload"]
    assert (payload["role"], payload["is_active"]) == ("staff", False)


def test_deactivation_revokes_the_users_refresh_tokens_only():
    user, other = UserFactory(), UserFactory()
    token_pair_for(user)
    token_pair_for(user)
    token_pair_for(other)

    user_set_access(user=user, is_active=False)

    assert BlacklistedToken.objects.filter(token__user=user).count() == 2
    assert BlacklistedToken.objects.filter(token__user=other).count() == 0


def test_an_unknown_role_is_refused_before_anything_is_written():
    user = UserFactory()

    with pytest.raises(InvalidInput):
        user_set_access(user=user, role="admin")

    assert User.objects.get(pk=user.pk).role == Role.CUSTOMER
    assert events() == []


def test_a_failure_after_publishing_rolls_back_the_change_and_its_event(monkeypatch):
    user = UserFactory()

    def fail(**kwargs):
        raise RuntimeError("simulated failure after both events were written")

    monkeypatch.setattr(services, "refresh_tokens_revoke_all", fail)
    with pytest.raises(RuntimeError):
        user_set_access(user=user, is_active=False)

    assert User.objects.get(pk=user.pk).is_active
    assert events() == []


def test_an_in_place_edit_is_saved_and_announced_once():
    user = UserFactory(email="before@example.com")
    user.email = "After@Example.com"
    user.is_active = False

    user_save_edited(user=user)

    assert User.objects.get(pk=user.pk).email == "after@example.com"
    assert events() == ["user.updated", "user.deactivated", "user.tokens_revoked"]


def test_an_in_place_edit_of_unpublished_fields_publishes_nothing():
    user = UserFactory()
    user.set_password("another-fine-passphrase")

    user_save_edited(user=user)

    assert User.objects.get(pk=user.pk).check_password("another-fine-passphrase")
    assert events() == []


def admin_flags(user):
    saved = User.objects.get(pk=user.pk)
    return saved.is_staff, saved.is_superuser


def test_the_staff_role_grants_this_services_admin_site():
    user = UserFactory(role=Role.CUSTOMER)

    user_set_access(user=user, role=Role.STAFF)

    assert admin_flags(user) == (True, True)


def test_taking_the_staff_role_away_takes_the_admin_site_away():
    user = UserFactory(role=Role.STAFF, is_staff=True, is_superuser=True)

    user_set_access(user=user, role=Role.CUSTOMER)

    assert admin_flags(user) == (False, False)
    assert events() == ["user.updated", "user.tokens_revoked"]


def test_an_admin_edit_cannot_give_a_customer_the_admin_site():
    user = UserFactory(role=Role.CUSTOMER)
    user.is_staff = user.is_superuser = True

    user_save_edited(user=user)

    assert admin_flags(user) == (False, False)
