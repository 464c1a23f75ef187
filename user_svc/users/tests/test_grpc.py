"""shop.user.v1.UserService over a real in-process server and channel."""

import uuid

import grpc
import pytest

from protos.user.v1 import user_pb2, user_pb2_grpc
from shared.grpc_server import create_server
from shared.testing.grpc import serving
from users.grpc import register
from users.models import Role
from users.tests.factories import UserFactory

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
