"""URLs every service answers: probes, metrics, admin and its own OpenAPI schema."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from drf_spectacular.views import SpectacularAPIView

from shared import health, metrics

# Referenced from each project's urls.py so that errors outside DRF views are problem+json too.
HANDLERS = {
    "handler400": "shared.errors.bad_request",
    "handler403": "shared.errors.permission_denied",
    "handler404": "shared.errors.not_found",
    "handler500": "shared.errors.server_error",
}


def common_urlpatterns(
    *, schema: bool = True, readyz: Callable[[HttpRequest], HttpResponse] = health.readyz
) -> list[URLPattern | URLResolver]:
    """``readyz``: the gateway swaps in its own, which asks the upstream services."""
    patterns: list[URLPattern | URLResolver] = [
        path("healthz", health.healthz, name="healthz"),
        path("readyz", readyz, name="readyz"),
        # django-prometheus's metrics and ours, added up over the gunicorn workers (see shared.metrics).
        path("metrics", metrics.metrics_view, name="prometheus-django-metrics"),
        path("admin/", admin.site.urls),
    ]
    if schema:
        patterns.append(path("api/schema", SpectacularAPIView.as_view(), name="schema"))
    return patterns
