"""Authentication in the user service: bearer tokens (the shared token check, then the live user row),
and this service's admin login, behind the same failed sign-in throttle as the token endpoint."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from rest_framework import exceptions

from shared.jwt_auth import JWTAuthentication, Principal
from users.errors import AuthenticationRefused, SignInBlocked
from users.models import User
from users.selectors import user_get_active
from users.sign_in import auth_check_credentials


class UserJWTAuthentication(JWTAuthentication):
    """Every service refuses a revoked token within a second or two (``shared.revocations``); this one
    owns the users, so it also refuses the token of a deactivated or deleted account at once, and
    authorises on the user's current role rather than the one in the token."""

    def authenticated(self, principal: Principal) -> User:
        user = user_get_active(user_id=principal.id)
        if user is None:
            raise exceptions.AuthenticationFailed("The account of this token is deactivated or gone.")
        return user


class ThrottledModelBackend(ModelBackend):
    """This service's admin login (``AUTHENTICATION_BACKENDS``): the local users, through
    :func:`users.sign_in.auth_check_credentials`, so guessing passwords here spends the same buckets as
    at ``POST /api/v1/auth/token`` and at every other admin (``AuthenticateStaff``). Sessions and
    permissions are ModelBackend's: a deactivated user, or one whose staff role was taken away
    (``is_staff`` follows the role), is out at their next request.
    """

    def authenticate(  # the admin's form passes the email as ``username``; tests' login() as ``email``
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        email = username or kwargs.get("email")
        if not email or not password:
            return None
        client_address = str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""
        try:
            return auth_check_credentials(email=email, password=password, client_address=client_address)
        except AuthenticationRefused:
            return None
        except SignInBlocked as exc:
            # Raised through the admin's login form, which shows it instead of "wrong password".
            raise ValidationError(
                f"Too many failed sign-ins for this account or from this address; try again in {exc.retry_after} s.",
                code="throttled",
            ) from None
