"""Which upstream service answers which public path: the routes of the shared table that name a service.

The table itself, with each route's access rule, is :data:`shared.access.ROUTES`; a path it does not
name is not forwarded (404), so no route reaches a service without an access rule.
"""

from __future__ import annotations

from shared.access import ROUTES as ALL_ROUTES
from shared.access import Route
from shared.access import route_for as shared_route_for

__all__ = ["ROUTES", "Route", "route_for"]

# The forwarded ones: the schema and docs routes are the gateway's own.
ROUTES: tuple[Route, ...] = tuple(route for route in ALL_ROUTES if route.service is not None)


def route_for(path: str) -> Route | None:
    """The route forwarding ``path`` to its service, or None (nothing forwards it)."""
    return shared_route_for(path, ROUTES)
