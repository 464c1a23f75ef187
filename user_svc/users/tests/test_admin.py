"""The admin site writes through the services, so its changes are announced like the API's."""

import pytest

from shared.models import OutboxEvent
from users.models import Role, User
from users.services import user_set_access
from users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = UserFactory(email="root@example.com", role=Role.STAFF, is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def events():
    return list(OutboxEvent.objects.order_by("id").values_list("event_type", flat=True))


def run_action(admin_client, action, users):
    return admin_client.post(
        "/admin/users/user/",
        {"action": action, "_selected_action": [str(user.pk) for user in users]},
    )


def test_deactivate_action_deactivates_each_selected_user_with_events(admin_client):
    first, second, untouched = UserFactory(), UserFactory(), UserFactory()

    response = run_action(admin_client, "deactivate_users", [first, second])

    assert response.status_code == 302
    assert list(User.objects.filter(is_active=False).order_by("email")) == sorted([first, second], key=str)
    assert User.objects.get(pk=untouched.pk).is_active
    assert sorted(events()) == [
        "user.deactivated",
        "user.deactivated",
        "user.tokens_revoked",
        "user.tokens_revoked",
        "user.updated",
        "user.updated",
    ]


def test_a_deactivation_that_includes_the_staff_member_themselves_changes_nothing(admin_client):
    other = UserFactory()
    root = User.objects.get(email="root@example.com")

    response = run_action(admin_client, "deactivate_users", [other, root])

    assert response.status_code == 302
    assert User.objects.filter(is_active=False).count() == 0
    assert events() == []
    page = admin_client.get(response["Location"])
    assert "Nothing changed: Your own role and account stay as they are" in page.content.decode()


def test_make_staff_action_sets_the_role_with_one_event_per_changed_user(admin_client):
    customer = UserFactory()
    already = UserFactory(role=Role.STAFF)

    run_action(admin_client, "make_users_staff", [customer, already])

    assert User.objects.get(pk=customer.pk).role == Role.STAFF
    assert events() == ["user.updated"]


def test_editing_a_user_in_the_admin_publishes_user_updated(admin_client):
    user = UserFactory(email="edit@example.com", first_name="Old")

    response = admin_client.post(
        f"/admin/users/user/{user.pk}/change/",
        {
            "email": "edit@example.com",
            "first_name": "New",
            "last_name": user.last_name,
            "role": "customer",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 302, response.content
    assert User.objects.get(pk=user.pk).first_name == "New"
    assert events() == ["user.updated"]


def test_adding_a_user_in_the_admin_publishes_user_registered(admin_client):
    response = admin_client.post(
        "/admin/users/user/add/",
        {
            "email": "Added@Example.com",
            "password1": "a-fine-passphrase-9",
            "password2": "a-fine-passphrase-9",
            "role": "customer",
        },
    )

    assert response.status_code == 302, response.content
    added = User.objects.get(email="added@example.com")
    assert added.check_password("a-fine-passphrase-9")
    row = OutboxEvent.objects.get()
    assert (row.event_type, row.key) == ("user.registered", str(added.id))


def test_a_staff_role_user_signs_into_this_admin_with_their_password(client):
    user_set_access(user=UserFactory(email="sam@example.com"), role=Role.STAFF)

    assert client.login(email="sam@example.com", password=PASSWORD)
    assert client.get("/admin/users/user/").status_code == 200


@pytest.mark.parametrize(
    "change", [{"is_active": False}, {"role": Role.CUSTOMER}], ids=["deactivated", "staff_role_taken_away"]
)
def test_a_signed_in_staff_user_is_locked_out_at_the_next_request(client, change):
    staff = UserFactory(email="sam@example.com", role=Role.STAFF, is_staff=True, is_superuser=True)
    client.login(email="sam@example.com", password=PASSWORD)

    user_set_access(user=staff, **change)

    response = client.get("/admin/users/user/")
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/users/user/")


def test_a_customer_cannot_sign_into_this_admin(client):
    UserFactory(email="casey@example.com", role=Role.CUSTOMER)

    client.login(email="casey@example.com", password=PASSWORD)

    assert client.get("/admin/users/user/").status_code == 302


def test_this_admins_login_is_behind_the_sign_in_throttle(client, settings):
    settings.LOGIN_FAILURES_PER_EMAIL_AND_CLIENT = "2/900"
    UserFactory(email="sam@example.com", role=Role.STAFF, is_staff=True, is_superuser=True)
    for _ in range(2):
        client.post("/admin/login/", {"username": "sam@example.com", "password": "wrong"})

    response = client.post("/admin/login/", {"username": "sam@example.com", "password": PASSWORD})

    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert client.get("/admin/users/user/").status_code == 302
