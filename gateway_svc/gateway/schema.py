"""The one OpenAPI document of the public API, merged from every domain service's own ``/api/schema``.

Paths are disjoint between services and are taken as they are. Components
(``schemas``, ``parameters``, ...) are merged by name; when two services define
the same name differently, each of their definitions is renamed with its
service's prefix (``Product`` -> ``OrderProduct``, ``ProductProduct``) and that
service's ``$ref`` s are rewritten to match. Every operation's ``security`` is
set from the shared access table, so the docs say which calls need a token.

A service that does not answer is left out and named in ``x-missing-services``;
the document is cached (``GATEWAY_SCHEMA_CACHE_SECONDS``), a partial one only
briefly, so the service shows up soon after it is back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache

from gateway.proxy import client
from shared.access import Access, access_for
from shared.logs import request_id_var
from shared.topology import DOMAIN_SERVICES

logger = logging.getLogger(__name__)

CACHE_KEY = "gateway:openapi"
PARTIAL_CACHE_SECONDS = 5
FETCH_TIMEOUT_SECONDS = 5.0
TITLE = "shop API"
SECURITY_SCHEME = "bearerAuth"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENT_REF = re.compile(r"^#/components/(?P<section>[^/]+)/(?P<name>[^/]+)$")

Document = dict[str, Any]


def merged_schema() -> Document | None:
    """The merged document (cached), or None when no service answered."""
    document: Document | None = cache.get(CACHE_KEY)
    if document is not None:
        return document
    names = [spec.name for spec in DOMAIN_SERVICES]
    fetch = partial(fetch_schema, request_id=request_id_var.get())
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        fetched = dict(zip(names, pool.map(fetch, names), strict=True))
    found = {name: doc for name, doc in fetched.items() if doc is not None}
    if not found:
        return None
    missing = [name for name in names if name not in found]
    document = merge_documents(found, missing=missing)
    cache.set(CACHE_KEY, document, PARTIAL_CACHE_SECONDS if missing else settings.GATEWAY_SCHEMA_CACHE_SECONDS)
    return document


def fetch_schema(service: str, *, request_id: str = "") -> Document | None:
    """The service's OpenAPI document, or None (logged) when it cannot be had."""
    url = settings.SERVICE_URLS[service].rstrip("/") + "/api/schema"
    try:
        answer = client().get(
            url,
            params={"format": "json"},
            headers={"Accept": "application/json", "X-Request-ID": request_id} if request_id else {},
            timeout=FETCH_TIMEOUT_SECONDS,
        )
        answer.raise_for_status()
        document = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("no OpenAPI schema from %s: %s", service, exc)
        return None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        logger.warning("no OpenAPI schema from %s: the answer is not an OpenAPI document", service)
        return None
    return document


def merge_documents(documents: Mapping[str, Document], *, missing: list[str] | None = None) -> Document:
    """One document from the services' own (in the order given); ``missing`` names those left out."""
    renames = component_renames(documents)
    first = next(iter(documents.values()))
    merged: Document = {
        "openapi": first.get("openapi", "3.0.3"),
        "info": {
            "title": TITLE,
            "version": first.get("info", {}).get("version", "1.0.0"),
            "description": "The public API of every service, as the gateway serves it.",
        },
        "paths": {},
        "components": {},
    }
    tags: dict[str, Any] = {}
    for service, original in documents.items():
        document = rewrite_refs(original, renames.get(service, {}))
        for path, item in document.get("paths", {}).items():
            if path in merged["paths"]:
                logger.warning("OpenAPI path %s is in several services; keeping the first", path)
                continue
            merged["paths"][path] = with_access_security(path, item)
        for section, members in document.get("components", {}).items():
            target = merged["components"].setdefault(section, {})
            for name, definition in members.items():
                target[renames.get(service, {}).get((section, name), name)] = definition
        for tag in document.get("tags", []):
            tags.setdefault(tag.get("name"), tag)
    merged["components"].setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    if tags:
        merged["tags"] = list(tags.values())
    merged["x-missing-services"] = list(missing or [])
    return merged


def component_renames(documents: Mapping[str, Document]) -> dict[str, dict[tuple[str, str], str]]:
    """Per service, ``(section, name) -> new name`` for each component name defined differently elsewhere."""
    definitions: dict[tuple[str, str], dict[str, Any]] = {}
    for service, document in documents.items():
        for section, members in document.get("components", {}).items():
            for name, definition in members.items():
                definitions.setdefault((section, name), {})[service] = definition
    taken = set(definitions)
    renames: dict[str, dict[tuple[str, str], str]] = {}
    for (section, name), by_service in definitions.items():
        variants = list(by_service.values())
        if all(variant == variants[0] for variant in variants[1:]):
            continue
        for service in by_service:
            new_name = _free_name(section, f"{service.title()}{name}", taken)
            taken.add((section, new_name))
            renames.setdefault(service, {})[(section, name)] = new_name
    return renames


def _free_name(section: str, wanted: str, taken: set[tuple[str, str]]) -> str:
    candidate, number = wanted, 2
    while (section, candidate) in taken:
        candidate, number = f"{wanted}{number}", number + 1
    return candidate


def rewrite_refs(node: Any, renames: Mapping[tuple[str, str], str]) -> Any:
    """A copy of ``node`` with every reference to a renamed component pointing at its new name.

    Any string that is exactly a component reference counts, so ``$ref`` values and
    discriminator mappings are both covered.
    """
    if isinstance(node, dict):
        return {key: rewrite_refs(value, renames) for key, value in node.items()}
    if isinstance(node, list):
        return [rewrite_refs(item, renames) for item in node]
    if isinstance(node, str) and renames and (match := COMPONENT_REF.match(node)):
        section, name = match["section"], _unescape_pointer(match["name"])
        if (section, name) in renames:
            return f"#/components/{section}/{_escape_pointer(renames[(section, name)])}"
    return node


def with_access_security(path: str, item: Document) -> Document:
    """The path item with each operation's ``security`` saying what the access table asks of it."""
    item = dict(item)
    for method in HTTP_METHODS:
        operation = item.get(method)
        if not isinstance(operation, dict):
            continue
        level = access_for(path, method.upper())
        item[method] = {
            **operation,
            "security": [] if level is Access.PUBLIC else [{SECURITY_SCHEME: []}],
            "x-access": str(level),
        }
    return item


def clear_cache() -> None:
    cache.delete(CACHE_KEY)


# RFC 6901: "~" and "/" are escaped in a JSON pointer.
def _escape_pointer(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _unescape_pointer(name: str) -> str:
    return name.replace("~1", "/").replace("~0", "~")
