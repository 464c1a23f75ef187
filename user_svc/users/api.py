"""The user API (see docs: API.md, "Auth and users"): parse, call a service or selector, serialise.

Who may call what is the shared route table (:mod:`shared.access`), applied by the default
permission. Sign-up, sign-in and refresh authenticate nobody: a stale access token left in a
client's Authorization header must not turn a refresh into a 401.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shared.client_ip import client_ip
from shared.errors import found_by_id
from shared.jwt_auth import caller, load_public_key, public_jwk
from users.models import User
from users.selectors import user_get, user_list
from users.serializers import (
    AccessInput,
    JsonWebKeySetOutput,
    PasswordChangeInput,
    ProfileInput,
    RefreshInput,
    RegistrationInput,
    SignInInput,
    StaffUserOutput,
    TokenPairOutput,
    UserOutput,
)
from users.services import user_change_password, user_register, user_set_access, user_update_profile
from users.sign_in import auth_refresh, auth_sign_in, auth_sign_out

NO_CONTENT = OpenApiResponse(description="Done; no body.")
CREDENTIALS_REFUSED = OpenApiResponse(description="The email or password is wrong.")
SIGN_IN_BLOCKED = OpenApiResponse(description="Too many failed sign-ins; retry after `Retry-After` seconds.")
REFRESH_REFUSED = OpenApiResponse(description="The refresh token is invalid, expired or revoked; sign in again.")


class RegisterApi(APIView):
    authentication_classes = ()

    @extend_schema(
        request=RegistrationInput,
        responses={201: UserOutput, 409: OpenApiResponse(description="An account with this email already exists.")},
    )
    def post(self, request: Request) -> Response:
        data = RegistrationInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(**data.validated_data)
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    authentication_classes = ()

    @extend_schema(
        request=SignInInput, responses={200: TokenPairOutput, 401: CREDENTIALS_REFUSED, 429: SIGN_IN_BLOCKED}
    )
    def post(self, request: Request) -> Response:
        data = SignInInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = auth_sign_in(**data.validated_data, client_address=client_ip(request))
        return Response(TokenPairOutput(pair).data)


class TokenRefreshApi(APIView):
    authentication_classes = ()

    @extend_schema(request=RefreshInput, responses={200: TokenPairOutput, 401: REFRESH_REFUSED})
    def post(self, request: Request) -> Response:
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = auth_refresh(refresh=data.validated_data["refresh"])
        return Response(TokenPairOutput(pair).data)


class LogoutApi(APIView):
    @extend_schema(request=RefreshInput, responses={204: NO_CONTENT})
    def post(self, request: Request) -> Response:
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        auth_sign_out(user=caller(request, User), refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses={200: UserOutput})
    def get(self, request: Request) -> Response:
        return Response(UserOutput(caller(request, User)).data)

    @extend_schema(request=ProfileInput, responses={200: UserOutput})
    def patch(self, request: Request) -> Response:
        data = ProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_update_profile(user=caller(request, User), **data.validated_data)
        return Response(UserOutput(user).data)


class PasswordApi(APIView):
    @extend_schema(request=PasswordChangeInput, responses={204: NO_CONTENT})
    def post(self, request: Request) -> Response:
        data = PasswordChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        user_change_password(user=caller(request, User), **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(parameters=[OpenApiParameter("search", str, description="Part of the email, first or last name.")])
class UserListApi(generics.ListAPIView[User]):
    serializer_class = StaffUserOutput

    def get_queryset(self) -> QuerySet[User]:
        return user_list(search=self.request.query_params.get("search", ""))


class UserDetailApi(APIView):
    @extend_schema(responses={200: StaffUserOutput})
    def get(self, request: Request, user_id: str) -> Response:
        return Response(StaffUserOutput(self._user(user_id)).data)

    @extend_schema(
        request=AccessInput,
        responses={200: StaffUserOutput, 403: OpenApiResponse(description="Not staff, or the caller's own account.")},
    )
    def patch(self, request: Request, user_id: str) -> Response:
        user = self._user(user_id)
        data = AccessInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_set_access(user=user, changed_by=caller(request, User), **data.validated_data)
        return Response(StaffUserOutput(user).data)

    @staticmethod
    def _user(user_id: str) -> User:
        return found_by_id(user_id, lambda parsed: user_get(user_id=parsed), missing="No user has this id.")


class JwksApi(APIView):
    """The public keys tokens are verified with: the current one, and the previous one during a rotation."""

    authentication_classes = ()

    @extend_schema(responses={200: JsonWebKeySetOutput})
    def get(self, request: Request) -> Response:
        paths = [settings.JWT_PUBLIC_KEY_PATH, settings.JWT_PREVIOUS_PUBLIC_KEY_PATH]
        keys = {jwk["kid"]: jwk for jwk in (public_jwk(load_public_key(path)) for path in paths if path)}
        response = Response(JsonWebKeySetOutput({"keys": list(keys.values())}).data)
        response["Cache-Control"] = "public, max-age=300"
        return response
