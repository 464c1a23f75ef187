"""The route table: which upstream service answers which public path (one place, matching API.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    prefix: str  # matched against the request path; a prefix ending without "/" also matches "<prefix>/..."
    service: str


ROUTES: tuple[Route, ...] = (
    Route("/api/v1/auth", "user"),
    Route("/api/v1/users", "user"),
    Route("/.well-known/jwks.json", "user"),
    Route("/api/v1/products", "product"),
    Route("/api/v1/categories", "product"),
    Route("/api/v1/inventory", "inventory"),
    Route("/api/v1/orders", "order"),
)


def route_for(path: str) -> Route | None:
    """The route whose prefix is ``path`` itself or a parent of it; the longest prefix wins."""
    matches = [route for route in ROUTES if path == route.prefix or path.startswith(route.prefix.rstrip("/") + "/")]
    return max(matches, key=lambda route: len(route.prefix), default=None)
