"""The route table: every API path, the service that answers it and who may call each of its methods.

One table for everything about a route: the gateway forwards by it (:mod:`gateway.routes`), the
gateway and every service enforce its access levels (defence in depth), the shared 405 middleware
answers by its methods, the OpenAPI documents describe it, and the gateway's rate limits pick the
sign-in bucket by it. A new route is one line here.

Levels: ``public`` (anyone), ``user`` (a valid access token), ``staff`` (a valid access token with
role staff), ``nobody``. Fail closed: a path no route names is ``nobody`` (the gateway has nothing to
forward it to; a service view reached there is refused 403), and a route that names no method, so no
access rule, stops the process at import. Each route names the methods its paths have: any other is
405, whoever asks (:class:`shared.middleware.MethodNotAllowedMiddleware`, in every service and the gateway).
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass
from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

logger = logging.getLogger(__name__)


class Access(enum.StrEnum):
    PUBLIC = "public"
    USER = "user"
    STAFF = "staff"
    NOBODY = "nobody"


# The methods an API route can have. Any other (TRACE, CONNECT, PROPFIND, ...) is 405 on every path.
API_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# Why a call was refused: the same words from the gateway and from every service.
SIGN_IN_NEEDED = "Sign in: this needs a bearer access token."
STAFF_NEEDED = "Only staff may do this."
NO_ROUTE = "No route names this path, so nobody may call it."

# Rate-limit classes (the gateway's ``GATEWAY_RATE_LIMITS`` keys): sign-in routes spend from their own bucket.
LOGIN = "login"
DEFAULT = "default"


@dataclass(frozen=True)
class Route:
    """The paths ``pattern`` matches: answered by ``service``, with exactly the methods ``by_method`` names.

    ``service`` is the upstream the gateway forwards to; None for a route every process answers
    itself (the OpenAPI schema and docs). ``rate_limit`` is the gateway's bucket class for the
    route's POSTs. HEAD goes with GET; OPTIONS (what may I do here?) is there on every route, open
    to whoever may call at least one of its methods. Any other method is 405 (:func:`allowed_methods`).
    """

    pattern: re.Pattern[str]
    service: str | None
    by_method: dict[str, Access]
    rate_limit: str = DEFAULT

    def __post_init__(self) -> None:
        # Fail closed at start-up: a route must say who may call it, method by method.
        if not self.by_method:
            raise ValueError(f"route {self.pattern.pattern} names no method and who may call it")
        unknown = set(self.by_method) - set(API_METHODS)
        if unknown:
            raise ValueError(f"route {self.pattern.pattern} names unknown methods {sorted(unknown)}")

    def methods(self) -> tuple[str, ...]:
        named = set(self.by_method) | {"OPTIONS"} | ({"HEAD"} if "GET" in self.by_method else set())
        return tuple(method for method in API_METHODS if method in named)

    def access(self, method: str) -> Access:
        method = method.upper()
        if method == "HEAD" and "GET" in self.by_method:
            return self.by_method["GET"]
        if method == "OPTIONS":
            return min(self.by_method.values(), key=list(Access).index)
        # A method the route does not have is answered 405 before anyone asks; should one ask, nobody may.
        return self.by_method.get(method, Access.NOBODY)


def route(service: str | None, pattern: str, *, rate_limit: str = DEFAULT, **by_method: Access) -> Route:
    return Route(re.compile(pattern), service, {key.upper(): value for key, value in by_method.items()}, rate_limit)


PUBLIC, USER, STAFF = Access.PUBLIC, Access.USER, Access.STAFF
# One entry per API route, in the order they are tried (``/users/me`` before ``/users/{id}``).
ROUTES: tuple[Route, ...] = (
    route("user", r"^/api/v1/auth/(register|token|token/refresh)/?$", rate_limit=LOGIN, post=PUBLIC),
    route("user", r"^/api/v1/auth/logout/?$", post=USER),
    route("user", r"^/api/v1/users/me/?$", get=USER, patch=USER),
    route("user", r"^/api/v1/users/me/password/?$", post=USER),
    route("user", r"^/api/v1/users/?$", get=STAFF),
    route("user", r"^/api/v1/users/[^/]+/?$", get=STAFF, patch=STAFF),
    route("user", r"^/\.well-known/jwks\.json$", get=PUBLIC),
    route("product", r"^/api/v1/(products|categories)/?$", get=PUBLIC, post=STAFF),
    route("product", r"^/api/v1/products/[^/]+/?$", get=PUBLIC, put=STAFF, patch=STAFF, delete=STAFF),
    route("inventory", r"^/api/v1/inventory/?$", get=STAFF),
    route("inventory", r"^/api/v1/inventory/[^/]+/?$", get=STAFF),
    route("inventory", r"^/api/v1/inventory/[^/]+/adjustments/?$", post=STAFF),
    route("inventory", r"^/api/v1/inventory/[^/]+/movements/?$", get=STAFF),
    route("order", r"^/api/v1/orders/?$", get=USER, post=USER),
    route("order", r"^/api/v1/orders/[^/]+/?$", get=USER),
    route("order", r"^/api/v1/orders/[^/]+/history/?$", get=USER),
    route("order", r"^/api/v1/orders/[^/]+/cancel/?$", post=USER),
    route("order", r"^/api/v1/orders/[^/]+/status/?$", post=STAFF),
    route("order", r"^/api/v1/orders/[^/]+/refund/?$", post=STAFF),
    route("order", r"^/api/v1/cart/?$", get=USER, delete=USER),
    route("order", r"^/api/v1/cart/items/[^/]+/?$", put=USER, delete=USER),
    route("order", r"^/api/v1/cart/(merge|checkout)/?$", post=USER),
    route("payment", r"^/api/v1/payments/[^/]+/?$", get=STAFF),
    route(None, r"^/api/(schema|docs)/?$", get=PUBLIC),
)


def route_for(path: str, routes: tuple[Route, ...] = ROUTES) -> Route | None:
    return next((candidate for candidate in routes if candidate.pattern.match(path)), None)


def access_for(path: str, method: str, routes: tuple[Route, ...] = ROUTES) -> Access:
    found = route_for(path, routes)
    return found.access(method) if found is not None else Access.NOBODY


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods ``path`` answers (its ``Allow``): its route's, or any API method where no route is named (a 404)."""
    found = route_for(path)
    return found.methods() if found is not None else API_METHODS


def is_staff(user: Any) -> bool:
    return getattr(user, "role", None) == "staff"


class RouteAccess(permissions.BasePermission):
    """DRF permission applying :data:`ROUTES` to the request's path and method (the default in every service).

    A view whose path no route names is refused to everyone (403): a new view needs its line in the table."""

    def has_permission(self, request: Request, view: Any) -> bool:
        required = access_for(request.path, request.method or "GET")
        if required is Access.PUBLIC:
            return True
        if required is Access.NOBODY:
            logger.error("refused %s %s: no route in shared.access.ROUTES opens it", request.method, request.path)
            raise exceptions.PermissionDenied(NO_ROUTE)
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated(SIGN_IN_NEEDED)
        if required is Access.STAFF and not is_staff(user):
            raise exceptions.PermissionDenied(STAFF_NEEDED)
        return True
