"""The user service's domain errors (the shared :class:`~shared.errors.DomainError` family).

The two sign-in errors need response headers (``WWW-Authenticate``, ``Retry-After``) that a
DomainError cannot carry yet, so :class:`users.api.AuthErrorsMixin` re-raises them as DRF's own.
"""

from __future__ import annotations

from rest_framework import status

from shared.errors import DomainError


class InvalidInput(DomainError):
    """A field failed a rule only the service can check (password strength, the current password)."""

    code = "validation-error"
    title = "Invalid request"


class AuthenticationRefused(DomainError):
    """Wrong credentials, or a refresh token that is invalid, expired, revoked or of a deactivated user."""

    status = status.HTTP_401_UNAUTHORIZED
    code = "authentication-failed"
    title = "Unauthorized"


class NotStaff(DomainError):
    """The right credentials of an account whose role is not staff, at the back office's sign-in."""

    status = status.HTTP_403_FORBIDDEN
    code = "not-staff"
    title = "Forbidden"


class OwnAccessChange(DomainError):
    """Staff may not change their own role or deactivate themselves: the last one would lock everyone out."""

    status = status.HTTP_403_FORBIDDEN
    code = "own-access-change"
    title = "Forbidden"


class SignInBlocked(DomainError):
    """Too many failed sign-ins for this email or from this client; try again in ``retry_after`` seconds."""

    status = status.HTTP_429_TOO_MANY_REQUESTS
    code = "too-many-failed-sign-ins"
    title = "Too many failed sign-ins"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
