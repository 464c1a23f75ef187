"""Who may call which route: the one table the gateway enforces and every service enforces again.

Levels: ``public`` (anyone), ``user`` (a valid access token), ``staff`` (a valid
access token with role staff). A path no rule names needs a user: secure by default.
Each rule also names the methods its paths have: any other is 405, whoever asks
(:class:`shared.middleware.MethodNotAllowedMiddleware`, in every service and the gateway).
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


# The methods an API route can have. Any other (TRACE, CONNECT, PROPFIND, ...) is 405 on every path.
API_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class Rule:
    """The paths ``pattern`` matches have exactly the methods ``by_method`` names (with who may call each).

    HEAD goes with GET; OPTIONS (what may I do here?) is there on every route, open to whoever may
    call at least one of its methods. Any other method is 405 (:func:`allowed_methods`).
    """

    pattern: re.Pattern[str]
    by_method: dict[str, Access]

    def methods(self) -> tuple[str, ...]:
        named = set(self.by_method) | {"OPTIONS"} | ({"HEAD"} if "GET" in self.by_method else set())
        return tuple(method for method in API_METHODS if method in named)

    def access(self, method: str) -> Access:
        method = method.upper()
        if method == "HEAD" and "GET" in self.by_method:
            return self.by_method["GET"]
        if method == "OPTIONS":
            return min(self.by_method.values(), key=list(Access).index)
        # A method the route does not have is answered 405 before anyone asks; should one ask, staff only.
        return self.by_method.get(method, Access.STAFF)


def rule(pattern: str, **by_method: Access) -> Rule:
    return Rule(re.compile(pattern), {key.upper(): value for key, value in by_method.items()})


PUBLIC, USER, STAFF = Access.PUBLIC, Access.USER, Access.STAFF
# One rule per API route, in the order they are tried (``/users/me`` before ``/users/{id}``).
RULES: tuple[Rule, ...] = (
    rule(r"^/api/v1/auth/(register|token|token/refresh)/?$", post=PUBLIC),
    rule(r"^/api/v1/auth/logout/?$", post=USER),
    rule(r"^/api/v1/users/me/?$", get=USER, patch=USER),
    rule(r"^/api/v1/users/me/password/?$", post=USER),
    rule(r"^/api/v1/users/?$", get=STAFF),
    rule(r"^/api/v1/users/[^/]+/?$", get=STAFF, patch=STAFF),
    rule(r"^/\.well-known/jwks\.json$", get=PUBLIC),
    rule(r"^/api/v1/(products|categories)/?$", get=PUBLIC, post=STAFF),
    rule(r"^/api/v1/products/[^/]+/?$", get=PUBLIC, put=STAFF, patch=STAFF, delete=STAFF),
    rule(r"^/api/v1/inventory/?$", get=STAFF),
    rule(r"^/api/v1/inventory/[^/]+/?$", get=STAFF),
    rule(r"^/api/v1/inventory/[^/]+/adjustments/?$", post=STAFF),
    rule(r"^/api/v1/inventory/[^/]+/movements/?$", get=STAFF),
    rule(r"^/api/v1/orders/?$", get=USER, post=USER),
    rule(r"^/api/v1/orders/[^/]+/?$", get=USER),
    rule(r"^/api/v1/orders/[^/]+/history/?$", get=USER),
    rule(r"^/api/v1/orders/[^/]+/cancel/?$", post=USER),
    rule(r"^/api/v1/orders/[^/]+/status/?$", post=STAFF),
    rule(r"^/api/(schema|docs)/?$", get=PUBLIC),
)


def rule_for(path: str) -> Rule | None:
    return next((candidate for candidate in RULES if candidate.pattern.match(path)), None)


def access_for(path: str, method: str) -> Access:
    found = rule_for(path)
    return found.access(method) if found is not None else Access.USER


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods ``path`` answers (its ``Allow``): its route's, or any API method where no route is named."""
    found = rule_for(path)
    return found.methods() if found is not None else API_METHODS


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
