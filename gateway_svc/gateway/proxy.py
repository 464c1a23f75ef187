"""Forwarding a request to its upstream over a pooled keep-alive HTTP client.

Upstream failures become the gateway's own problem+json: timeout 504,
connection refused 503, any other transport failure 502.
"""

from __future__ import annotations

import logging
import threading

import httpx
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from gateway.routes import route_for
from shared.errors import problem_response
from shared.logs import request_id_var

logger = logging.getLogger(__name__)

# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_client: httpx.Client | None = None
_client_lock = threading.Lock()


def client() -> httpx.Client:
    """One pooled client per process, shared by its threads."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(
                timeout=httpx.Timeout(settings.GATEWAY_UPSTREAM_TIMEOUT, connect=2.0),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                follow_redirects=False,
            )
        return _client


def forwarded_headers(request: HttpRequest) -> dict[str, str]:
    replaced = {"x-request-id", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"}
    headers = {name: value for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP | replaced}
    client_ip = request.META.get("REMOTE_ADDR", "")
    prior = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{prior}, {client_ip}" if prior else client_ip
    headers["X-Forwarded-Host"] = request.get_host()
    headers["X-Forwarded-Proto"] = request.scheme or "http"
    headers["X-Request-ID"] = request_id_var.get()
    return headers


@csrf_exempt
def forward(request: HttpRequest) -> HttpResponse:
    route = route_for(request.path)
    if route is None:
        return problem_response(404, detail=f"Nothing at {request.path}.")
    upstream = settings.SERVICE_URLS[route.service].rstrip("/") + request.get_full_path()
    try:
        answer = client().request(
            request.method or "GET", upstream, content=request.body, headers=forwarded_headers(request)
        )
    except httpx.TimeoutException:
        logger.warning("upstream %s timed out", route.service)
        return problem_response(504, detail=f"The {route.service} service did not answer in time.")
    except httpx.ConnectError:
        logger.warning("upstream %s refused the connection", route.service)
        return problem_response(503, detail=f"The {route.service} service is unavailable.")
    except httpx.HTTPError as exc:
        logger.warning("upstream %s failed: %s", route.service, exc)
        return problem_response(502, detail=f"The {route.service} service gave a bad answer.")
    response = HttpResponse(answer.content, status=answer.status_code)
    for name, value in answer.headers.multi_items():
        if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding":
            response[name] = value
    return response
