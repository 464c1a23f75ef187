"""The storefront: a shop in the browser, served by the gateway at ``/``, that uses only the public API.

Plain HTML, CSS and ES modules from ``gateway_svc/storefront/`` (no build step, nothing from a CDN).
At start-up the gateway reads them and fingerprints them with one hash of all their contents: the
assets are served at ``/assets/<hash>/<file>`` with a year of immutable caching, so a browser asks for
each file once per version. One hash for the set, not one per file, because the ES modules import each
other by relative paths (``./api.js``): under one versioned folder those resolve to the same version with
no rewriting of the modules. The HTML shell names the current folder and is ``no-cache``.

The shell and the assets carry a Content-Security-Policy that allows no inline script: the modules are
the only code a page runs.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from shared.errors import problem_response

ASSETS_PREFIX = "/assets/"
# Written where the shell names its assets: replaced by ``/assets/<hash>``.
ASSETS_PLACEHOLDER = "{{assets}}"
SHELL_NAME = "index.html"
IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Storefront:
    """One version of the storefront: its fingerprint, the shell naming it, and the assets by file name."""

    version: str
    shell: bytes
    shell_etag: str
    assets: dict[str, Asset]

    def assets_url(self) -> str:
        return f"{ASSETS_PREFIX}{self.version}"


def storefront_load(*, directory: Path) -> Storefront:
    """Reads and fingerprints the storefront in ``directory``; ValueError for a file of a type it cannot serve."""
    digest = hashlib.sha256()
    assets: dict[str, Asset] = {}
    for path in sorted(found for found in directory.rglob("*") if found.is_file()):
        name = path.relative_to(directory).as_posix()
        if name == SHELL_NAME:
            continue
        if path.suffix not in CONTENT_TYPES:
            raise ValueError(f"the storefront cannot serve {name}: no content type for {path.suffix!r} files")
        body = path.read_bytes()
        # The name goes into the hash too: renaming a file is a new version.
        digest.update(name.encode() + b"\0" + body + b"\0")
        assets[name] = Asset(body, CONTENT_TYPES[path.suffix])
    version = digest.hexdigest()[:16]
    template = (directory / SHELL_NAME).read_text(encoding="utf-8")
    shell = template.replace(ASSETS_PLACEHOLDER, f"{ASSETS_PREFIX}{version}").encode()
    return Storefront(version, shell, hashlib.sha256(shell).hexdigest()[:16], assets)


@functools.cache
def current() -> Storefront:
    """The storefront this process serves, read once (the app's ready() reads it at start-up)."""
    return storefront_load(directory=Path(settings.STOREFRONT_DIR))


def _shell(request: HttpRequest) -> HttpResponse:
    storefront = current()
    etag = f'"{storefront.shell_etag}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(storefront.shell, content_type="text/html; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@require_safe
def shell(request: HttpRequest) -> HttpResponse:
    """The HTML shell at ``/``; the modules it loads draw the page the path names."""
    return _shell(request)


@require_safe
def asset(request: HttpRequest, version: str, name: str) -> HttpResponse:
    """One file of the current version. Another version's URL is 404, never today's file: cached as
    immutable, it would stand for the old version for a year."""
    storefront = current()
    found = storefront.assets.get(name)
    if version != storefront.version or found is None:
        return problem_response(404, detail=f"No storefront file {name} in version {version}.")
    response = HttpResponse(found.body, content_type=found.content_type)
    response["Cache-Control"] = IMMUTABLE
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def page_or_not_found(request: HttpRequest) -> HttpResponse:
    """Any path nothing else answers: a browser opening one of the storefront's pages (``/products/<id>``,
    ``/orders``, ...) gets the shell, whose router draws the page or its own "not found"; every other
    client (no ``text/html`` in ``Accept``) gets the problem+json 404 it always got."""
    if request.method in ("GET", "HEAD") and "text/html" in request.headers.get("Accept", ""):
        return _shell(request)
    return problem_response(404, detail=f"Nothing at {request.path}.")
