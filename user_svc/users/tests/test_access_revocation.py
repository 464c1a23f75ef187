"""Logout, a password change, deactivation and losing the staff role revoke access tokens, not only refresh tokens.

Here, in the service that revokes: the revocation row is written in the same transaction as the change
and ``user.tokens_revoked`` goes into the outbox for the gateway and the other services.
"""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt import tokens as simplejwt_tokens

from shared.errors import PROBLEM_CONTENT_TYPE
from shared.jwt_auth import verify_access_token
from shared.models import AccessTokenRevocation, OutboxEvent
from shared.testing.clients import bearer_client
from shared.testing.tokens import refused
from users.models import Role
from users.services import user_change_password, user_set_access
from users.tests.factories import PASSWORD, UserFactory
from users.tokens import token_pair_for

pytestmark = pytest.mark.django_db


def revocation_events() -> list[dict]:
    return [
        row.envelope["payload"] for row in OutboxEvent.objects.filter(event_type="user.tokens_revoked").order_by("id")
    ]


def logout(pair) -> int:
    client = bearer_client(pair.access)
    return client.post("/api/v1/auth/logout", {"refresh": pair.refresh}, format="json").status_code


def test_logout_refuses_that_sessions_access_token_and_no_other(customer):
    session, other_session = token_pair_for(customer), token_pair_for(customer)

    assert logout(session) == 204

    assert refused(session.access)
    assert not refused(other_session.access)
    me = bearer_client(session.access).get("/api/v1/users/me")
    assert (me.status_code, me["Content-Type"]) == (401, PROBLEM_CONTENT_TYPE)


def test_logout_publishes_the_revocation_of_its_session(customer):
    session = token_pair_for(customer)

    logout(session)

    [payload] = revocation_events()
    row = AccessTokenRevocation.objects.get()
    assert payload["user_id"] == str(customer.id)
    assert payload["session_id"] == str(row.session_id)
    assert datetime.fromisoformat(payload["not_before"]) == row.not_before
    assert datetime.fromisoformat(payload["expires_at"]) - row.not_before == timedelta(minutes=5)


def test_password_change_refuses_every_access_token_issued_before_it(customer, staff):
    sessions = [token_pair_for(customer), token_pair_for(customer)]
    others = token_pair_for(staff)

    user_change_password(user=customer, old_password=PASSWORD, new_password="a-much-better-passphrase")

    assert all(refused(pair.access) for pair in sessions)
    assert not refused(others.access)
    [payload] = revocation_events()
    assert payload["user_id"] == str(customer.id)
    assert "session_id" not in payload


def test_a_token_signed_right_after_a_password_change_works(customer, api):
    user_change_password(user=customer, old_password=PASSWORD, new_password="a-much-better-passphrase")

    signed = api.post(
        "/api/v1/auth/token", {"email": customer.email, "password": "a-much-better-passphrase"}, format="json"
    )

    assert signed.status_code == 200
    assert not refused(signed.json()["access"])
    assert bearer_client(signed.json()["access"]).get("/api/v1/users/me").status_code == 200


def test_within_one_second_a_token_signed_before_a_password_change_is_refused_and_one_after_works(
    customer, monkeypatch
):
    second = timezone.now().replace(microsecond=0)
    clock = [second + timedelta(milliseconds=100)]
    monkeypatch.setattr(simplejwt_tokens, "aware_utcnow", lambda: clock[0])
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    before = token_pair_for(customer)

    clock[0] = second + timedelta(milliseconds=300)
    user_change_password(user=customer, old_password=PASSWORD, new_password="a-much-better-passphrase")
    clock[0] = second + timedelta(milliseconds=500)
    after = token_pair_for(customer)

    assert refused(before.access)
    assert not refused(after.access)


def test_deactivation_by_staff_refuses_the_users_access_tokens(as_staff, customer):
    session = token_pair_for(customer)

    response = as_staff.patch(f"/api/v1/users/{customer.id}", {"is_active": False}, format="json")

    assert response.status_code == 200
    assert refused(session.access)


def test_taking_the_staff_role_away_refuses_the_staff_tokens_and_a_refresh_mints_a_customer_one(api):
    demoted = UserFactory(role=Role.STAFF)
    session = token_pair_for(demoted)

    user_set_access(user=demoted, role=Role.CUSTOMER)

    assert refused(session.access)
    refreshed = api.post("/api/v1/auth/token/refresh", {"refresh": session.refresh}, format="json")
    assert refreshed.status_code == 200
    assert verify_access_token(refreshed.json()["access"]).role == "customer"


def test_a_profile_change_or_a_promotion_revokes_nothing(customer):
    session = token_pair_for(customer)

    user_set_access(user=customer, role=Role.STAFF)
    bearer_client(token_pair_for(customer).access).patch("/api/v1/users/me", {"first_name": "Renamed"}, format="json")

    assert not refused(session.access)
    assert revocation_events() == []


def test_reusing_a_redeemed_refresh_token_refuses_the_access_tokens_of_its_session(customer, api):
    stolen = token_pair_for(customer)
    current = api.post("/api/v1/auth/token/refresh", {"refresh": stolen.refresh}, format="json").json()
    elsewhere = token_pair_for(customer)

    api.post("/api/v1/auth/token/refresh", {"refresh": stolen.refresh}, format="json")

    assert refused(current["access"])
    assert refused(stolen.access)
    assert not refused(elsewhere.access)


def test_a_password_set_in_the_admin_signs_the_user_out_everywhere(client, customer):
    admin = UserFactory(email="root@example.com", role=Role.STAFF, is_staff=True, is_superuser=True)
    client.force_login(admin)
    session = token_pair_for(customer)

    response = client.post(
        f"/admin/users/user/{customer.pk}/password/",
        {"password1": "a-much-better-passphrase", "password2": "a-much-better-passphrase", "usable_password": "true"},
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.check_password("a-much-better-passphrase")
    assert refused(session.access)
    assert api_refresh_status(session.refresh) == 401


def api_refresh_status(refresh: str) -> int:
    return APIClient().post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json").status_code
