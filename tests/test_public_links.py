"""Links in answers name the public address: a client follows ``next`` through the gateway, not past it."""

from __future__ import annotations

import httpx

from ops.isolated import Stack


def test_page_links_read_through_the_gateway_point_at_the_gateway(stack: Stack, staff: dict[str, str]) -> None:
    first = httpx.get(stack.url("gateway", "/api/v1/products?page_size=1&ordering=name"), timeout=10).json()

    assert first["next"] == stack.url("gateway", "/api/v1/products?ordering=name&page=2&page_size=1")
    second = httpx.get(first["next"], timeout=10).json()
    assert second["previous"] == stack.url("gateway", "/api/v1/products?ordering=name&page_size=1")


def test_staff_lists_link_to_the_gateway_too(stack: Stack, staff: dict[str, str]) -> None:
    users = httpx.get(stack.url("gateway", "/api/v1/users?page_size=1"), headers=staff, timeout=10).json()

    assert users["next"].startswith(stack.url("gateway", "/api/v1/users?"))
