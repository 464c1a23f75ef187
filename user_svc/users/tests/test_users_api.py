"""/api/v1/users/me, the password change, and staff's user list and detail."""

import uuid
from datetime import UTC, datetime

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from shared.errors import PROBLEM_CONTENT_TYPE
from shared.models import OutboxEvent
from shared.testing.clients import bearer_client
from users.models import Role, User
from users.tests.factories import PASSWORD, UserFactory
from users.tokens import token_pair_for

pytestmark = pytest.mark.django_db


def events():
    return list(OutboxEvent.objects.order_by("id").values_list("event_type", flat=True))


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# /users/me


def test_me_shows_the_callers_profile(as_customer, customer):
    response = as_customer.get("/api/v1/users/me")

    assert response.status_code == 200
    assert response.json() == {
        "id": str(customer.id),
        "email": "casey@example.com",
        "first_name": "Casey",
        "last_name": "Customer",
        "role": "customer",
        "date_joined": iso(customer.date_joined),
    }


def test_me_anonymous_is_401_with_www_authenticate(api):
    response = api.get("/api/v1/users/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_patch_me_changes_the_names_and_publishes_one_user_updated(as_customer, customer):
    response = as_customer.patch("/api/v1/users/me", {"first_name": "Cass", "last_name": "C."}, format="json")

    assert response.status_code == 200
    assert (response.json()["first_name"], response.json()["last_name"]) == ("Cass", "C.")
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name) == ("Cass", "C.")
    event = OutboxEvent.objects.get()
    assert (event.event_type, event.key) == ("user.updated", str(customer.id))
    assert event.envelope["payload"] == {
        "user_id": str(customer.id),
        "email": "casey@example.com",
        "first_name": "Cass",
        "last_name": "C.",
        "role": "customer",
        "is_active": True,
    }


def test_patch_me_with_the_same_values_publishes_nothing(as_customer):
    response = as_customer.patch("/api/v1/users/me", {"first_name": "Casey"}, format="json")

    assert response.status_code == 200
    assert events() == []


@pytest.mark.parametrize(("field", "value"), [("role", "staff"), ("email", "new@example.com"), ("is_active", False)])
def test_patch_me_refuses_any_other_field_naming_it(as_customer, customer, field, value):
    response = as_customer.patch("/api/v1/users/me", {"first_name": "Cass", field: value}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert list(response.json()["errors"]) == [field]
    customer.refresh_from_db()
    assert (customer.first_name, customer.role, customer.email) == ("Casey", Role.CUSTOMER, "casey@example.com")
    assert events() == []


def test_patch_me_reports_refused_and_invalid_fields_together(as_customer):
    response = as_customer.patch("/api/v1/users/me", {"first_name": "x" * 151, "id": "1"}, format="json")

    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["first_name", "id"]


# /users/me/password


def change_password(client, old, new):
    return client.post("/api/v1/users/me/password", {"old_password": old, "new_password": new}, format="json")


def test_password_change_is_204_and_the_new_password_signs_in(as_customer, customer, api):
    response = change_password(as_customer, PASSWORD, "a-much-better-passphrase")

    assert response.status_code == 204
    signed = api.post(
        "/api/v1/auth/token", {"email": customer.email, "password": "a-much-better-passphrase"}, format="json"
    )
    assert signed.status_code == 200
    assert events() == ["user.tokens_revoked"]


def test_password_change_revokes_every_refresh_token_of_the_user(customer, staff, api):
    sessions = [token_pair_for(customer), token_pair_for(customer)]
    others = token_pair_for(staff)

    change_password(bearer_client(token_pair_for(customer).access), PASSWORD, "a-much-better-passphrase")

    for pair in sessions:
        assert api.post("/api/v1/auth/token/refresh", {"refresh": pair.refresh}, format="json").status_code == 401
    assert api.post("/api/v1/auth/token/refresh", {"refresh": others.refresh}, format="json").status_code == 200


def test_password_change_with_a_wrong_old_password_is_400_and_changes_nothing(as_customer, customer):
    response = change_password(as_customer, "not-my-password", "a-much-better-passphrase")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["old_password"]
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)
    assert BlacklistedToken.objects.count() == 0


def test_password_change_to_a_weak_password_is_400(as_customer, customer):
    response = change_password(as_customer, PASSWORD, "123")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["new_password"]
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_password_change_needs_both_fields(as_customer):
    response = as_customer.post("/api/v1/users/me/password", {"new_password": "whatever-long-enough"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["old_password"]


# /users (staff)


def test_staff_lists_users_newest_first_paginated(as_staff, customer):
    User.objects.filter(pk=customer.pk).update(date_joined=datetime(2020, 1, 1, tzinfo=UTC))
    newer = UserFactory(email="newer@example.com", date_joined=datetime(2030, 1, 1, tzinfo=UTC))
    customer.refresh_from_db()

    response = as_staff.get("/api/v1/users")

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    assert [user["email"] for user in body["results"]] == [newer.email, "sam@example.com", "casey@example.com"]
    assert body["results"][2] == {
        "id": str(customer.id),
        "email": "casey@example.com",
        "first_name": "Casey",
        "last_name": "Customer",
        "role": "customer",
        "is_active": True,
        "date_joined": iso(customer.date_joined),
    }


@pytest.mark.parametrize(("term", "found"), [("CASEY@", ["casey@example.com"]), ("staff", ["sam@example.com"])])
def test_staff_searches_users_by_email_and_names(as_staff, customer, term, found):
    UserFactory(email="other@example.com", first_name="Oscar", last_name="Other")

    response = as_staff.get("/api/v1/users", {"search": term})

    assert [user["email"] for user in response.json()["results"]] == found


def test_user_list_pages_by_page_size(as_staff):
    UserFactory.create_batch(3)

    body = as_staff.get("/api/v1/users", {"page_size": 2}).json()

    assert (body["count"], len(body["results"])) == (4, 2)
    assert body["next"].endswith("page=2&page_size=2")


def test_customer_on_the_user_list_is_403(as_customer):
    response = as_customer.get("/api/v1/users")

    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_anonymous_on_the_user_list_is_401_with_www_authenticate(api):
    response = api.get("/api/v1/users")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


# /users/{id} (staff)


def test_staff_reads_one_user(as_staff, customer):
    response = as_staff.get(f"/api/v1/users/{customer.id}")

    assert response.status_code == 200
    assert response.json()["email"] == "casey@example.com"
    assert response.json()["is_active"] is True


@pytest.mark.parametrize("user_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_or_malformed_user_id_is_404_problem(as_staff, user_id):
    for response in (
        as_staff.get(f"/api/v1/users/{user_id}"),
        as_staff.patch(f"/api/v1/users/{user_id}", {"role": "staff"}, format="json"),
    ):
        assert response.status_code == 404
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_customer_reading_a_user_is_403(as_customer, staff):
    assert as_customer.get(f"/api/v1/users/{staff.id}").status_code == 403


def test_staff_promotes_a_user_with_one_user_updated(as_staff, customer):
    response = as_staff.patch(f"/api/v1/users/{customer.id}", {"role": "staff"}, format="json")

    assert response.status_code == 200
    assert response.json()["role"] == "staff"
    customer.refresh_from_db()
    assert (customer.role, customer.is_staff) == (Role.STAFF, True)  # the admin site follows the role
    event = OutboxEvent.objects.get()
    assert event.event_type == "user.updated"
    assert event.envelope["payload"]["role"] == "staff"


def test_staff_deactivates_a_user_with_user_updated_then_user_deactivated(as_staff, customer):
    response = as_staff.patch(f"/api/v1/users/{customer.id}", {"is_active": False}, format="json")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    rows = list(OutboxEvent.objects.order_by("id"))
    assert [row.event_type for row in rows] == ["user.updated", "user.deactivated", "user.tokens_revoked"]
    assert rows[0].envelope["payload"]["is_active"] is False
    assert rows[1].envelope["payload"] == {"user_id": str(customer.id)}
    assert {row.key for row in rows} == {str(customer.id)}


@pytest.mark.parametrize("change", [{"is_active": False}, {"role": "customer"}, {"role": "staff", "is_active": True}])
def test_staff_may_not_change_their_own_access(as_staff, staff, change):
    response = as_staff.patch(f"/api/v1/users/{staff.id}", change, format="json")

    assert response.status_code == 403
    assert response.json()["type"].endswith("/own-access-change")
    staff.refresh_from_db()
    assert (staff.role, staff.is_active) == (Role.STAFF, True)
    assert events() == []


def test_deactivating_a_deactivated_user_again_publishes_nothing(as_staff):
    user = UserFactory(is_active=False)

    response = as_staff.patch(f"/api/v1/users/{user.id}", {"is_active": False}, format="json")

    assert response.status_code == 200
    assert events() == []


def test_staff_reactivates_a_user_with_only_user_updated(as_staff):
    user = UserFactory(is_active=False)

    as_staff.patch(f"/api/v1/users/{user.id}", {"is_active": True}, format="json")

    assert events() == ["user.updated"]
    user.refresh_from_db()
    assert user.is_active


@pytest.mark.parametrize(("body", "field"), [({"email": "x@example.com"}, "email"), ({"role": "admin"}, "role")])
def test_staff_patch_refuses_fields_it_may_not_write_and_unknown_roles(as_staff, customer, body, field):
    response = as_staff.patch(f"/api/v1/users/{customer.id}", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert events() == []


def test_customer_patching_a_user_is_403_and_changes_nothing(as_customer, customer):
    response = as_customer.patch(f"/api/v1/users/{customer.id}", {"role": "staff"}, format="json")

    assert response.status_code == 403
    assert User.objects.get(pk=customer.pk).role == Role.CUSTOMER
