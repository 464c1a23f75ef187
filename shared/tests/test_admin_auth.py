"""Staff sign into this service's admin with their user_svc account (shared.admin_auth).

user_svc is a fake ``UserService`` on a real gRPC server on a free port, so the backend's calls go
through the process's real channel, deadline and status codes; the real servicer's side of
``AuthenticateStaff`` is tested in user_svc (users/tests/test_grpc.py) and end to end in
tests/test_backoffice_browser.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from protos.user.v1 import user_pb2, user_pb2_grpc
from shared import admin_auth, grpc_client
from shared.grpc_server import create_server, registration
from shared.models import StaffAccount

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-42"
ADMIN_PAGE = "/admin/orders/order/"


@dataclass
class FakeUserService(user_pb2_grpc.UserServiceServicer):
    """user_svc's answers, from a dict of accounts; counts the GetUser calls (the re-checks)."""

    accounts: dict[str, user_pb2.User] = field(default_factory=dict)
    throttled: bool = False
    lookups: int = 0

    def add(self, email: str, *, role: str = "staff") -> user_pb2.User:
        account = user_pb2.User(id=str(uuid.uuid4()), email=email, first_name="Sam", role=role, is_active=True)
        self.accounts[email] = account
        return account

    def AuthenticateStaff(
        self, request: user_pb2.AuthenticateStaffRequest, context: grpc.ServicerContext
    ) -> user_pb2.User:
        if self.throttled:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "Too many failed sign-ins.")
        account = self.accounts.get(request.email)
        if account is None or not account.is_active or request.password != PASSWORD:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "The email or password is wrong.")
        if account.role != "staff":
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "Only staff may sign into the back office.")
        return account

    def GetUser(self, request: user_pb2.GetUserRequest, context: grpc.ServicerContext) -> user_pb2.User:
        self.lookups += 1
        for account in self.accounts.values():
            if account.id == request.id:
                return account
        context.abort(grpc.StatusCode.NOT_FOUND, "No user has this id.")


@dataclass
class FakeUserSvc:
    service: FakeUserService
    server: grpc.Server

    def go_down(self) -> None:
        self.server.stop(0).wait()


@pytest.fixture
def user_svc(settings, monkeypatch) -> Iterator[FakeUserSvc]:
    service = FakeUserService()
    # A call to a user_svc that is down waits for it until the deadline (wait_for_ready): 5 s per sign-in in
    # production; these tests sign in up to 26 times while it is down, so they wait a quarter second.
    monkeypatch.setattr(admin_auth, "SIGN_IN_DEADLINE_SECONDS", 0.25)
    monkeypatch.setattr(admin_auth, "RECHECK_DEADLINE_SECONDS", 0.25)
    register = registration(
        user_pb2_grpc.add_UserServiceServicer_to_server,
        lambda: service,
        user_pb2.DESCRIPTOR.services_by_name["UserService"],
    )
    server, port, _ = create_server(port=0, registers=[register])
    server.start()
    settings.SERVICE_GRPC_TARGETS = {**settings.SERVICE_GRPC_TARGETS, "user": f"127.0.0.1:{port}"}
    grpc_client.reset()
    yield FakeUserSvc(service=service, server=server)
    server.stop(0).wait()
    grpc_client.reset()


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post("/admin/login/", {"username": email, "password": password, "next": ADMIN_PAGE})


def signed_in(client: Client) -> bool:
    """Whether the client's session still opens an admin page (else the admin redirects to its login)."""
    return client.get(ADMIN_PAGE).status_code == 200


def age_last_check(email: str, seconds: float) -> None:
    StaffAccount.objects.filter(email=email).update(checked_at=timezone.now() - timedelta(seconds=seconds))


# Signing in


def test_staff_signs_in_as_a_local_superuser_linked_to_their_user_svc_account(client, user_svc):
    remote = user_svc.service.add("sam@example.com")

    response = sign_in(client, "sam@example.com")

    assert (response.status_code, response["Location"]) == (302, ADMIN_PAGE)
    assert signed_in(client)
    account = StaffAccount.objects.select_related("user").get()
    user = account.user
    assert (str(account.remote_id), account.email) == (remote.id, "sam@example.com")
    assert (user.username, user.email, user.first_name) == ("sam@example.com", "sam@example.com", "Sam")
    assert (user.is_active, user.is_staff, user.is_superuser, user.has_usable_password()) == (True, True, True, False)


def test_signing_in_again_reuses_the_local_user(client, user_svc):
    user_svc.service.add("sam@example.com")
    sign_in(client, "sam@example.com")

    sign_in(Client(), "sam@example.com")

    assert (User.objects.count(), StaffAccount.objects.count()) == (1, 1)


def test_a_customer_is_refused_and_gets_no_local_user(client, user_svc):
    user_svc.service.add("casey@example.com", role="customer")

    response = sign_in(client, "casey@example.com")

    assert response.status_code == 200
    assert "Please enter the correct" in response.content.decode()
    assert not signed_in(client)
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("email", "password"), [("sam@example.com", "wrong-password"), ("nobody@example.com", PASSWORD)]
)
def test_a_wrong_password_or_unknown_email_is_refused(client, user_svc, email, password):
    user_svc.service.add("sam@example.com")

    response = sign_in(client, email, password)

    assert response.status_code == 200
    assert not signed_in(client)
    assert not User.objects.exists()


def test_a_throttled_sign_in_is_refused_with_a_message_that_says_so(client, user_svc):
    user_svc.service.add("sam@example.com")
    user_svc.service.throttled = True

    response = sign_in(client, "sam@example.com")

    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert not signed_in(client)


def test_a_local_account_with_the_staff_email_is_never_taken_over(client, user_svc):
    User.objects.create_superuser("sam@example.com", "root@example.com", "emergency-pass-42")
    user_svc.service.add("sam@example.com")

    sign_in(client, "sam@example.com")

    assert not signed_in(client)
    assert not StaffAccount.objects.exists()


def test_an_email_too_long_for_a_local_username_is_refused_not_a_crash(client, user_svc):
    email = f"{'s' * 140}@example.com"
    user_svc.service.add(email)

    response = sign_in(client, email)

    assert response.status_code == 200
    assert not User.objects.exists()


def test_a_createsuperuser_account_still_signs_in(client, user_svc):
    User.objects.create_superuser("root", "root@example.com", "emergency-pass-42")

    sign_in(client, "root", "emergency-pass-42")

    assert signed_in(client)


def test_a_createsuperuser_account_signs_in_while_user_svc_is_down(client, user_svc):
    User.objects.create_superuser("root", "root@example.com", "emergency-pass-42")
    user_svc.go_down()

    sign_in(client, "root", "emergency-pass-42")

    assert signed_in(client)


def test_wrong_passwords_for_a_local_account_are_refused_after_the_limit_even_with_user_svc_down(client, user_svc):
    User.objects.create_superuser("root", "root@example.com", "emergency-pass-42")
    user_svc.go_down()
    answers = [sign_in(client, "root", f"guess-{number}") for number in range(25)]

    response = sign_in(client, "root", "emergency-pass-42")

    throttled = ["Too many failed sign-ins" in answer.content.decode() for answer in answers]
    assert throttled == [False] * 5 + [True] * 20
    assert "Too many failed sign-ins" in response.content.decode()
    assert not signed_in(client)


def test_a_local_account_signs_in_from_another_address_while_one_address_is_throttled(client, user_svc):
    User.objects.create_superuser("root", "root@example.com", "emergency-pass-42")
    user_svc.go_down()
    for number in range(6):
        client.post("/admin/login/", {"username": "root", "password": f"guess-{number}"}, REMOTE_ADDR="198.51.100.66")

    client.post("/admin/login/", {"username": "root", "password": "emergency-pass-42"}, REMOTE_ADDR="192.0.2.10")

    assert signed_in(client)


def test_staff_cannot_sign_in_while_user_svc_is_down(client, user_svc):
    user_svc.service.add("sam@example.com")
    user_svc.go_down()

    response = sign_in(client, "sam@example.com")

    assert response.status_code == 200
    assert not signed_in(client)


# Open sessions


def test_an_open_session_is_not_rechecked_within_the_interval(client, user_svc):
    user_svc.service.add("sam@example.com")
    sign_in(client, "sam@example.com")

    assert signed_in(client) and signed_in(client)
    assert user_svc.service.lookups == 0


def test_an_open_session_is_rechecked_after_the_interval(client, user_svc):
    user_svc.service.add("sam@example.com")
    sign_in(client, "sam@example.com")
    age_last_check("sam@example.com", 6)

    assert signed_in(client)
    assert user_svc.service.lookups == 1
    assert signed_in(client)
    assert user_svc.service.lookups == 1  # confirmed again just now


@pytest.mark.parametrize(
    "change", [{"is_active": False}, {"role": "customer"}], ids=["deactivated", "staff_role_taken_away"]
)
def test_a_session_is_signed_out_at_the_first_request_after_the_interval(client, user_svc, change):
    remote = user_svc.service.add("sam@example.com")
    sign_in(client, "sam@example.com")
    for name, value in change.items():
        setattr(remote, name, value)
    assert signed_in(client)  # still within ADMIN_STAFF_RECHECK_SECONDS of the sign-in

    age_last_check("sam@example.com", 6)

    assert not signed_in(client)
    assert User.objects.get(username="sam@example.com").is_active is False


def test_a_session_of_an_account_deleted_in_user_svc_is_signed_out(client, user_svc):
    user_svc.service.add("sam@example.com")
    sign_in(client, "sam@example.com")
    user_svc.service.accounts.clear()
    age_last_check("sam@example.com", 6)

    assert not signed_in(client)


def test_staff_signed_out_by_a_deactivation_can_sign_in_again_once_reactivated(client, user_svc):
    remote = user_svc.service.add("sam@example.com")
    sign_in(client, "sam@example.com")
    remote.is_active = False
    age_last_check("sam@example.com", 6)
    assert not signed_in(client)

    remote.is_active = True
    sign_in(client, "sam@example.com")

    assert signed_in(client)


def test_while_user_svc_is_unreachable_a_session_lasts_the_grace_then_is_refused(client, user_svc, settings):
    settings.ADMIN_STAFF_UNREACHABLE_GRACE_SECONDS = 30
    user_svc.service.add("sam@example.com")
    sign_in(client, "sam@example.com")
    user_svc.go_down()

    age_last_check("sam@example.com", 20)
    assert signed_in(client)

    age_last_check("sam@example.com", 31)
    assert not signed_in(client)
    # Nothing is known about the account, so nothing is changed: it signs in again once user_svc answers.
    assert User.objects.get(username="sam@example.com").is_active is True
