"""shop.user.v1.UserService over a real in-process server and channel."""

import uuid

import grpc
import pytest
from rest_framework.test import APIClient

from protos.user.v1 import user_pb2, user_pb2_grpc
from shared.grpc_server import create_server
from shared.testing.grpc import serving
from users.grpc import register
from users.models import Role
from users.tests.factories import PASSWORD, UserFactory

# The server's worker threads use their own connections, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stub(monkeypatch):
    with serving(register, monkeypatch) as channel:
        yield user_pb2_grpc.UserServiceStub(channel)


def test_register_names_the_full_service():
    server, _, _ = create_server(port=0, registers=[])
    try:
        assert register(server) == ["shop.user.v1.UserService"]
    finally:
        server.stop(0)


def test_get_user_returns_the_public_profile(stub):
    user = UserFactory(email="grace@example.com", first_name="Grace", last_name="Hopper", role=Role.STAFF)

    found = stub.GetUser(user_pb2.GetUserRequest(id=str(user.id)), timeout=5)

    assert (found.id, found.email, found.first_name, found.last_name, found.role, found.is_active) == (
        str(user.id),
        "grace@example.com",
        "Grace",
        "Hopper",
        "staff",
        True,
    )
    assert found.date_joined.ToDatetime().replace(tzinfo=user.date_joined.tzinfo) == user.date_joined


def test_get_user_reports_a_deactivated_account(stub):
    user = UserFactory(is_active=False)

    assert stub.GetUser(user_pb2.GetUserRequest(id=str(user.id)), timeout=5).is_active is False


def test_an_unknown_id_is_not_found(stub):
    with pytest.raises(grpc.RpcError) as error:
        stub.GetUser(user_pb2.GetUserRequest(id=str(uuid.uuid4())), timeout=5)

    assert error.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("user_id", ["not-a-uuid", ""])
def test_a_malformed_id_is_invalid_argument(stub, user_id):
    with pytest.raises(grpc.RpcError) as error:
        stub.GetUser(user_pb2.GetUserRequest(id=user_id), timeout=5)

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def authenticate_staff(stub, email, password=PASSWORD, client_address="203.0.113.7"):
    return stub.AuthenticateStaff(
        user_pb2.AuthenticateStaffRequest(email=email, password=password, client_address=client_address), timeout=5
    )


def refusal(call):
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value.code()


def test_authenticate_staff_returns_the_staff_account(stub):
    staff = UserFactory(email="sam@example.com", role=Role.STAFF)

    found = authenticate_staff(stub, " Sam@Example.com ")

    assert (found.id, found.email, found.role, found.is_active) == (str(staff.id), "sam@example.com", "staff", True)


def test_authenticate_staff_refuses_a_customer_with_the_right_password_as_permission_denied(stub):
    UserFactory(email="casey@example.com", role=Role.CUSTOMER)

    assert refusal(lambda: authenticate_staff(stub, "casey@example.com")) == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("email", "password"),
    [("sam@example.com", "not-the-password"), ("nobody@example.com", PASSWORD), ("gone@example.com", PASSWORD)],
    ids=["wrong_password", "unknown_email", "deactivated"],
)
def test_authenticate_staff_gives_one_answer_for_wrong_unknown_and_deactivated(stub, email, password):
    UserFactory(email="sam@example.com", role=Role.STAFF)
    UserFactory(email="gone@example.com", role=Role.STAFF, is_active=False)

    assert refusal(lambda: authenticate_staff(stub, email, password)) == grpc.StatusCode.UNAUTHENTICATED


def test_authenticate_staff_is_throttled_with_the_token_endpoints_buckets(stub, settings):
    settings.LOGIN_FAILURES_PER_EMAIL_AND_CLIENT = "2/900"
    UserFactory(email="sam@example.com", role=Role.STAFF)
    # One failure at the token endpoint and one here, from one address, empty that pair's bucket of two.
    APIClient().post("/api/v1/auth/token", {"email": "sam@example.com", "password": "nope"}, format="json")
    refusal(lambda: authenticate_staff(stub, "sam@example.com", "still-wrong", client_address="127.0.0.1"))

    blocked = refusal(lambda: authenticate_staff(stub, "sam@example.com", client_address="127.0.0.1"))
    assert blocked == grpc.StatusCode.RESOURCE_EXHAUSTED
