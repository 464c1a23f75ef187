"""``shop.user.v1.UserService`` (protos/user/v1/user.proto): other services look accounts up here, and
every service's admin checks a staff member's credentials here (``shared.admin_auth``)."""

from __future__ import annotations

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from protos.user.v1 import user_pb2, user_pb2_grpc
from shared.grpc_server import found, registration, requested_id
from users.errors import AuthenticationRefused, NotStaff, SignInBlocked
from users.models import User
from users.selectors import user_get
from users.sign_in import auth_authenticate_staff


class UserServicer(user_pb2_grpc.UserServiceServicer):
    def GetUser(self, request: user_pb2.GetUserRequest, context: grpc.ServicerContext) -> user_pb2.User:
        user_id = requested_id(context, request.id, noun="a user")
        return user_message(found(context, user_get(user_id=user_id), f"No user has the id {user_id}."))

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


register = registration(
    user_pb2_grpc.add_UserServiceServicer_to_server, UserServicer, user_pb2.DESCRIPTOR.services_by_name["UserService"]
)
