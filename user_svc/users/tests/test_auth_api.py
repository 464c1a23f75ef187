"""Sign-up, sign-in, refresh rotation and sign-out through the HTTP API."""

import logging
import math
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from shared.errors import PROBLEM_CONTENT_TYPE
from shared.jwt_auth import verify_access_token
from shared.models import KnownSignInClient, OutboxEvent
from shared.ratelimit import Decision, Limit, account_delay, forget_old_sign_in_clients
from shared.testing.clients import bearer_client
from users.models import User
from users.tests.factories import PASSWORD, UserFactory
from users.tokens import token_pair_for

pytestmark = pytest.mark.django_db


def sign_in(api, email, password=PASSWORD, **headers):
    return api.post("/api/v1/auth/token", {"email": email, "password": password}, format="json", **headers)


def refresh(api, token):
    return api.post("/api/v1/auth/token/refresh", {"refresh": token}, format="json")


# Registration


def test_register_answers_201_with_the_new_user_and_publishes_user_registered(api):
    response = api.post(
        "/api/v1/auth/register",
        {"email": "New.Person@Example.com", "password": "correct-horse-battery", "first_name": "New"},
        format="json",
    )

    assert response.status_code == 201
    user = User.objects.get()
    assert response.json() == {
        "id": str(user.id),
        "email": "new.person@example.com",
        "first_name": "New",
        "last_name": "",
        "role": "customer",
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }
    assert list(OutboxEvent.objects.values_list("event_type", "key")) == [("user.registered", str(user.id))]


def test_register_with_a_weak_password_is_400_naming_the_password(api):
    response = api.post("/api/v1/auth/register", {"email": "weak@example.com", "password": "12345"}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert list(response.json()["errors"]) == ["password"]
    assert User.objects.count() == 0


def test_register_with_a_taken_email_is_409_problem_whatever_its_case(api):
    UserFactory(email="taken@example.com")

    response = api.post(
        "/api/v1/auth/register", {"email": "Taken@Example.com", "password": "correct-horse-battery"}, format="json"
    )

    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["type"].endswith("/conflict")
    assert OutboxEvent.objects.count() == 0


def test_register_refuses_a_role_in_the_body(api):
    response = api.post(
        "/api/v1/auth/register",
        {"email": "sneaky@example.com", "password": "correct-horse-battery", "role": "staff"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["role"]
    assert User.objects.count() == 0


def test_register_with_a_malformed_email_is_400(api):
    response = api.post("/api/v1/auth/register", {"email": "nope", "password": "correct-horse-battery"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["email"]


def test_register_ignores_a_stale_bearer_token(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")

    response = api.post(
        "/api/v1/auth/register", {"email": "fresh@example.com", "password": "correct-horse-battery"}, format="json"
    )

    assert response.status_code == 201


# Sign-in


def test_sign_in_returns_a_pair_whose_access_token_verifies_with_the_shared_check(api, customer):
    response = sign_in(api, "Casey@Example.com")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    principal = verify_access_token(response.json()["access"])
    assert (principal.id, principal.role) == (customer.id, "customer")


def test_sign_in_with_a_wrong_password_is_401_with_www_authenticate(api, customer):
    response = sign_in(api, customer.email, "wrong-password")

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_sign_in_with_an_unknown_email_is_401(api):
    assert sign_in(api, "nobody@example.com").status_code == 401


def test_sign_in_of_a_deactivated_account_is_401(api):
    user = UserFactory(is_active=False)

    assert sign_in(api, user.email).status_code == 401


def test_sign_in_without_a_password_is_400(api):
    response = api.post("/api/v1/auth/token", {"email": "casey@example.com"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["password"]


# Brute force


def test_the_sixth_failure_for_one_email_within_the_window_is_429_with_retry_after(api, customer):
    for _ in range(5):
        assert sign_in(api, customer.email, "wrong-password").status_code == 401

    response = sign_in(api, customer.email, "wrong-password")

    assert response.status_code == 429
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert 1 <= int(response["Retry-After"]) <= 900


def test_the_right_password_is_refused_while_the_email_is_blocked(api, customer):
    for _ in range(5):
        sign_in(api, customer.email, "wrong-password")

    response = sign_in(api, customer.email)

    assert response.status_code == 429
    assert "access" not in response.json()


def test_a_block_for_one_email_does_not_block_another(api, customer):
    for _ in range(5):
        sign_in(api, "victim@example.com", "wrong-password")

    assert sign_in(api, customer.email).status_code == 200


def test_successful_sign_ins_spend_nothing(api, customer):
    for _ in range(7):
        assert sign_in(api, customer.email).status_code == 200


def test_failures_across_many_emails_from_one_client_are_blocked_per_client(api, customer, settings):
    settings.LOGIN_FAILURES_PER_CLIENT = "3/900"
    for number in range(3):
        assert sign_in(api, f"guess{number}@example.com", "wrong-password").status_code == 401

    assert sign_in(api, customer.email).status_code == 429


def test_the_owner_signs_in_from_their_address_while_the_attackers_address_is_blocked(api, customer):
    for _ in range(5):
        assert sign_in(api, customer.email, "wrong-password", REMOTE_ADDR="198.51.100.66").status_code == 401
    assert sign_in(api, customer.email, REMOTE_ADDR="198.51.100.66").status_code == 429

    assert sign_in(api, customer.email, REMOTE_ADDR="192.0.2.10").status_code == 200


def test_an_attacker_at_one_address_gets_at_most_capacity_plus_refill_guesses_per_account(api, customer, settings):
    """The hourly bound (capacity + capacity * 3600 / period) measured on a limit scaled to seconds."""
    settings.LOGIN_FAILURES_PER_EMAIL_AND_CLIENT = "3/2"
    settings.LOGIN_FAILURES_PER_EMAIL = settings.LOGIN_FAILURES_PER_CLIENT = "1000/3600"
    started = time.monotonic()
    answers = []
    while time.monotonic() - started < 3.0:
        answers.append(sign_in(api, customer.email, "wrong-password", REMOTE_ADDR="198.51.100.66").status_code)
    elapsed = time.monotonic() - started

    guesses = answers.count(401)
    assert set(answers) == {401, 429}
    assert 3 <= guesses <= 3 + math.ceil(elapsed * 3 / 2)


def test_failures_for_one_email_from_many_addresses_delay_its_next_sign_in(api, customer, settings):
    settings.LOGIN_FAILURES_PER_EMAIL = "6/3600"  # three free failures, then growing delays
    for number in range(4):
        assert sign_in(api, customer.email, "wrong-password", REMOTE_ADDR=f"198.51.100.{number}").status_code == 401

    response = sign_in(api, customer.email, REMOTE_ADDR="192.0.2.10")

    assert response.status_code == 429
    assert response["Retry-After"] == "2"


def test_the_owner_at_an_address_they_signed_in_from_before_is_not_delayed_by_a_distributed_attack(
    api, customer, settings
):
    settings.LOGIN_FAILURES_PER_EMAIL = "6/3600"
    assert sign_in(api, customer.email, REMOTE_ADDR="192.0.2.10").status_code == 200  # the owner's usual address
    for number in range(4):  # past half the per-account bucket, from four addresses: delays start
        assert sign_in(api, customer.email, "wrong-password", REMOTE_ADDR=f"198.51.100.{number}").status_code == 401
    assert sign_in(api, customer.email, REMOTE_ADDR="192.0.2.99").status_code == 429  # a new address waits

    assert sign_in(api, customer.email, REMOTE_ADDR="192.0.2.10").status_code == 200


def test_an_address_known_longer_ago_than_the_window_is_delayed_like_a_new_one(api, customer, settings):
    settings.LOGIN_FAILURES_PER_EMAIL = "6/3600"
    assert sign_in(api, customer.email, REMOTE_ADDR="192.0.2.10").status_code == 200
    KnownSignInClient.objects.update(last_success=timezone.now() - timedelta(days=31))
    for number in range(4):
        sign_in(api, customer.email, "wrong-password", REMOTE_ADDR=f"198.51.100.{number}")

    assert sign_in(api, customer.email, REMOTE_ADDR="192.0.2.10").status_code == 429
    assert forget_old_sign_in_clients() == 1


def test_a_known_address_still_has_its_own_small_bucket(api, customer):
    assert sign_in(api, customer.email, REMOTE_ADDR="192.0.2.10").status_code == 200
    for _ in range(5):
        assert sign_in(api, customer.email, "wrong-password", REMOTE_ADDR="192.0.2.10").status_code == 401

    assert sign_in(api, customer.email, REMOTE_ADDR="192.0.2.10").status_code == 429


@pytest.mark.parametrize(
    ("spent", "delay"), [(0, 0), (20, 0), (21, 2), (22, 4), (25, 32), (30, 900), (39, 900), (40, 90)]
)
def test_the_per_account_delay_doubles_with_each_failure_past_half_the_limit_and_is_capped(spent, delay):
    limit = Limit.parse("40/3600")
    remaining = limit.capacity - spent
    decision = Decision(remaining > 0, remaining, 0 if remaining else 90, limit, idle_seconds=0.0)

    assert account_delay(per_account=decision) == delay


def test_a_spoofed_x_forwarded_for_does_not_escape_the_client_block_without_trusted_proxies(api, customer, settings):
    settings.LOGIN_FAILURES_PER_CLIENT = "3/900"
    for number in range(3):
        sign_in(api, f"guess{number}@example.com", "wrong-password", HTTP_X_FORWARDED_FOR=f"10.0.0.{number}")

    assert sign_in(api, customer.email, HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(api, customer, settings):
    settings.LOGIN_FAILURES_PER_CLIENT = "3/900"
    settings.TRUSTED_PROXY_COUNT = 1
    for number in range(3):
        sign_in(api, f"guess{number}@example.com", "wrong-password", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert sign_in(api, customer.email, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 200
    assert sign_in(api, customer.email, HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7").status_code == 429


def test_a_failed_sign_in_is_logged_with_email_and_client_but_not_the_password(api, customer, caplog):
    with caplog.at_level(logging.WARNING, logger="users.sign_in"):
        sign_in(api, customer.email, "hunter2-secret", REMOTE_ADDR="192.0.2.10")

    messages = [record.getMessage() for record in caplog.records if record.name == "users.sign_in"]
    assert messages == ["failed sign-in for casey@example.com from 192.0.2.10"]
    assert all(record.levelno == logging.WARNING for record in caplog.records if record.name == "users.sign_in")
    assert "hunter2-secret" not in caplog.text


# Refresh


def test_refresh_returns_a_new_pair_and_the_old_refresh_token_is_then_401(api, customer):
    old = token_pair_for(customer)

    rotated = refresh(api, old.refresh)
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != old.refresh
    assert verify_access_token(rotated.json()["access"]).id == customer.id

    reused = refresh(api, old.refresh)

    assert reused.status_code == 401
    assert reused["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert reused["WWW-Authenticate"].startswith("Bearer")


def test_reusing_a_rotated_refresh_token_revokes_the_current_one_of_its_family(api, customer):
    stolen = token_pair_for(customer)
    current = refresh(api, stolen.refresh).json()

    reused = refresh(api, stolen.refresh)

    assert reused.status_code == 401
    assert refresh(api, current["refresh"]).status_code == 401


def test_reusing_a_rotated_refresh_token_leaves_other_sign_ins_of_the_user_alone(api, customer):
    stolen = token_pair_for(customer)
    other_device = token_pair_for(customer)
    refresh(api, stolen.refresh)

    refresh(api, stolen.refresh)

    assert refresh(api, other_device.refresh).status_code == 200


def test_a_rotated_refresh_token_stays_in_its_family_through_many_rotations(api, customer):
    first = token_pair_for(customer)
    second = refresh(api, first.refresh).json()
    third = refresh(api, second["refresh"]).json()

    refresh(api, first.refresh)

    assert refresh(api, third["refresh"]).status_code == 401


def test_refresh_carries_the_current_role_into_the_new_access_token(api, customer):
    old = token_pair_for(customer)
    User.objects.filter(pk=customer.pk).update(role="staff")

    access = refresh(api, old.refresh).json()["access"]

    assert verify_access_token(access).role == "staff"


def test_refresh_of_a_deactivated_user_is_401(api, customer):
    old = token_pair_for(customer)
    User.objects.filter(pk=customer.pk).update(is_active=False)

    assert refresh(api, old.refresh).status_code == 401


def test_an_access_token_is_not_a_refresh_token(api, customer):
    assert refresh(api, token_pair_for(customer).access).status_code == 401


def test_a_garbage_refresh_token_is_401(api):
    assert refresh(api, "not-a-token").status_code == 401


def test_a_refresh_token_signed_by_another_key_is_401(api, customer):
    payload = jwt.decode(token_pair_for(customer).refresh, options={"verify_signature": False})
    header = jwt.get_unverified_header(token_pair_for(customer).refresh)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(payload, other_key, algorithm="RS256", headers={"kid": header["kid"]})

    assert refresh(api, forged).status_code == 401


# Sign-out


def test_logout_is_204_and_the_refresh_token_then_fails(customer):
    pair = token_pair_for(customer)
    client = bearer_client(token_pair_for(customer).access)

    response = client.post("/api/v1/auth/logout", {"refresh": pair.refresh}, format="json")

    assert response.status_code == 204
    assert refresh(client, pair.refresh).status_code == 401


def test_logout_with_someone_elses_refresh_token_is_400_and_revokes_nothing(customer, staff):
    others = token_pair_for(staff)

    response = bearer_client(token_pair_for(customer).access).post(
        "/api/v1/auth/logout", {"refresh": others.refresh}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["refresh"]
    assert BlacklistedToken.objects.count() == 0


def test_logout_with_an_invalid_refresh_token_is_400(as_customer):
    response = as_customer.post("/api/v1/auth/logout", {"refresh": "garbage"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["refresh"]


def test_logout_needs_a_signed_in_user(api, customer):
    response = api.post("/api/v1/auth/logout", {"refresh": token_pair_for(customer).refresh}, format="json")

    assert response.status_code == 401
    assert BlacklistedToken.objects.count() == 0


# The whole flow


def test_register_sign_in_me_refresh_rotate_logout(api):
    registered = api.post(
        "/api/v1/auth/register", {"email": "flow@example.com", "password": "correct-horse-battery"}, format="json"
    )
    assert registered.status_code == 201
    first = sign_in(api, "flow@example.com", "correct-horse-battery").json()

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {first['access']}")
    me = api.get("/api/v1/users/me")
    assert me.status_code == 200
    assert me.json()["id"] == registered.json()["id"]

    second = refresh(api, first["refresh"])
    assert second.status_code == 200
    third = refresh(api, second.json()["refresh"])
    assert third.status_code == 200
    assert refresh(api, second.json()["refresh"]).status_code == 401

    # The reuse ended the session: its latest access token is refused too.
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {third.json()['access']}")
    assert api.post("/api/v1/auth/logout", {"refresh": third.json()["refresh"]}, format="json").status_code == 401
    fourth = sign_in(api, "flow@example.com", "correct-horse-battery").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {fourth['access']}")
    assert api.post("/api/v1/auth/logout", {"refresh": fourth["refresh"]}, format="json").status_code == 204
    assert refresh(api, fourth["refresh"]).status_code == 401
    assert api.get("/api/v1/users/me").status_code == 401
