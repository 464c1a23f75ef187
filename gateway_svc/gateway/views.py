"""The gateway's own endpoints."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_safe
from drf_spectacular.views import SpectacularSwaggerView

from gateway.proxy import client
from gateway.schema import TITLE, merged_schema
from shared.errors import problem_response
from shared.topology import DOMAIN_SERVICES


def upstream_readiness(service: str) -> str:
    try:
        answer = client().get(settings.SERVICE_URLS[service].rstrip("/") + "/readyz", timeout=5.0)
    except httpx.HTTPError as exc:
        return f"unreachable: {exc.__class__.__name__}"
    return "ok" if answer.status_code == 200 else f"not ready ({answer.status_code})"


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when every upstream service is ready (their /readyz checks their database and Kafka)."""
    names = [spec.name for spec in DOMAIN_SERVICES]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        checks = dict(zip(names, pool.map(upstream_readiness, names), strict=True))
    failing = sorted(name for name, state in checks.items() if state != "ok")
    if failing:
        return problem_response(503, detail=f"Not ready: {', '.join(failing)}", code="not-ready", checks=checks)
    return JsonResponse({"status": "ready", "checks": checks})


@require_safe
def openapi_schema(request: HttpRequest) -> JsonResponse:
    """The merged OpenAPI document of every service; 503 only when none of them answered."""
    document = merged_schema()
    if document is None:
        return problem_response(503, detail="No service answered with its OpenAPI schema.", code="schema-unavailable")
    return JsonResponse(document)


# Swagger UI (assets from a CDN) over the merged document; it needs no caller, so it authenticates none.
api_docs = SpectacularSwaggerView.as_view(url="/api/schema", title=TITLE, authentication_classes=[])
