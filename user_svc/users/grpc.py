"""``shop.user.v1.UserService`` (protos/user/v1/user.proto): other services look accounts up here, and
every service's admin checks a staff member's credentials here (``shared.admin_auth``)."""

from __future__ import annotations

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from protos.user.v1 import user_pb2, user_pb2_grpc
from shared.ids import parse_uuid
from users.errors import AuthenticationRefused, NotStaff, SignInBlocked
from users.models import User
from users.selectors import user_get
from users.sign_in import auth_authenticate_staff


class UserServicer(user_pb2_grpc.UserServiceServicer):
    def GetUser(self, request: user_pb2.GetUserRequest, context: grpc.ServicerContext) -> user_pb2.User:
        user_id = parse_uuid(request.id)
        if user_id is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{request.id!r} is not a user id (a UUID).")
        user = user_get(user_id=user_id)
        if user is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"No user has the id {user_id}.")
        return user_message(user)

    def AuthenticateStaff(
        self, request: user_pb2.AuthenticateStaffRequest, context: grpc.ServicerContext
    ) -> user_pb2.User:
        try:
            user = auth_authenticate_staff(
                email=request.email, password=request.password, client_address=request.client_address
            )
        except SignInBlocked as exc:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, exc.detail)
        except AuthenticationRefused as exc:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc.detail))
        except NotStaff as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc.detail))
        return user_message(user)


def user_message(user: User) -> user_pb2.User:
    joined = Timestamp()
    joined.FromDatetime(user.date_joined)
    return user_pb2.User(
        id=str(user.id),
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        role=str(user.role),
        is_active=user.is_active,
        date_joined=joined,
    )


def register(server: grpc.Server) -> list[str]:
    """Adds the servicer to ``server``; the names are what the health service reports as serving."""
    user_pb2_grpc.add_UserServiceServicer_to_server(UserServicer(), server)
    return [user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name]
