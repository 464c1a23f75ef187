"""Bearer authentication in the user service: the shared token check, then the live user row."""

from __future__ import annotations

from rest_framework import exceptions

from shared.jwt_auth import JWTAuthentication, Principal
from users.models import User
from users.selectors import user_get_active


class UserJWTAuthentication(JWTAuthentication):
    """Other services trust a valid token until it expires; this one owns the users, so it also
    refuses the token of a deactivated or deleted account at once, and authorises on the user's
    current role rather than the one in the token."""

    def authenticated(self, principal: Principal) -> User:
        user = user_get_active(user_id=principal.id)
        if user is None:
            raise exceptions.AuthenticationFailed("The account of this token is deactivated or gone.")
        return user
