"""The user service's domain errors: the shared :class:`~shared.errors.DomainError` family, named for sign-in."""

from __future__ import annotations

from shared.errors import Forbidden, NotAuthenticated, TooManyRequests


class AuthenticationRefused(NotAuthenticated):
    """Wrong credentials, or a refresh token that is invalid, expired, revoked or of a deactivated user."""


class NotStaff(Forbidden):
    """The right credentials of an account whose role is not staff, at the back office's sign-in."""

    code = "not-staff"


class OwnAccessChange(Forbidden):
    """Staff may not change their own role or deactivate themselves: the last one would lock everyone out."""

    code = "own-access-change"


class SignInBlocked(TooManyRequests):
    """Too many failed sign-ins for this email or from this client; try again in ``retry_after`` seconds."""
