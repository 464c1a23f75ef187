"""Who may call which route: the one table the gateway enforces and every service enforces again.

Levels: ``public`` (anyone), ``user`` (a valid access token), ``staff`` (a valid
access token with role staff). A path no rule names needs a user: secure by default.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request


class Access(enum.StrEnum):
    PUBLIC = "public"
    USER = "user"
    STAFF = "staff"


SAFE = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    by_method: dict[str, Access]  # "*" for every other method

    def access(self, method: str) -> Access:
        return self.by_method.get(method.upper(), self.by_method.get("*", Access.USER))


def rule(pattern: str, **by_method: Access) -> Rule:
    return Rule(
        re.compile(pattern), {("*" if key == "any" else key.upper()): value for key, value in by_method.items()}
    )


def _public_reads(otherwise: Access) -> dict[str, Access]:
    return dict.fromkeys(SAFE, Access.PUBLIC) | {"*": otherwise}


RULES: tuple[Rule, ...] = (
    rule(r"^/api/v1/auth/(register|token|token/refresh)/?$", post=Access.PUBLIC, options=Access.PUBLIC),
    rule(r"^/api/v1/auth/logout/?$", any=Access.USER),
    rule(r"^/api/v1/users/me(/password)?/?$", any=Access.USER),
    rule(r"^/api/v1/users(/[^/]+)?/?$", any=Access.STAFF),
    rule(r"^/\.well-known/jwks\.json$", get=Access.PUBLIC, head=Access.PUBLIC),
    Rule(re.compile(r"^/api/v1/(products|categories)(/.*)?$"), _public_reads(Access.STAFF)),
    rule(r"^/api/v1/inventory(/.*)?$", any=Access.STAFF),
    rule(r"^/api/v1/orders/[^/]+/status/?$", any=Access.STAFF),
    rule(r"^/api/v1/orders(/.*)?$", any=Access.USER),
    rule(r"^/api/(schema|docs)/?$", get=Access.PUBLIC, head=Access.PUBLIC),
)


def access_for(path: str, method: str) -> Access:
    for candidate in RULES:
        if candidate.pattern.match(path):
            return candidate.access(method)
    return Access.USER


def is_staff(user: Any) -> bool:
    return getattr(user, "role", None) == "staff"


class RouteAccess(permissions.BasePermission):
    """DRF permission applying :data:`RULES` to the request's path and method (the default in every service)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        required = access_for(request.path, request.method or "GET")
        if required is Access.PUBLIC:
            return True
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated("Sign in: this needs a bearer access token.")
        if required is Access.STAFF and not is_staff(user):
            raise exceptions.PermissionDenied("Only staff may do this.")
        return True
