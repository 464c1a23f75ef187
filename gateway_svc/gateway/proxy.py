"""Forwarding a request to its upstream over a pooled keep-alive HTTP client.

Before anything is forwarded the request passes the gateway's checks (access,
rate limit, body); the ``Authorization`` header travels on unchanged, as the
services verify it again. Upstream failures become the gateway's own
problem+json: timeout 504, connection refused 503, any other transport failure 502.
A request that is safe to send twice (GET, HEAD, a POST with an Idempotency-Key)
is sent once more, on a new connection, when the upstream closed or reset the
connection before answering; any other request gets the 502.
"""

from __future__ import annotations

import logging
import threading

import httpx
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from gateway.auth import check_access
from gateway.bodies import checked_body
from gateway.ratelimits import check_rate, rate_limit_headers
from gateway.refusals import Refused
from gateway.routes import Route, route_for
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
# An upstream that closed or reset the connection before answering: on a kept-alive connection
# this is usually the upstream's keep-alive timeout or a restarted worker, not a refusal.
CONNECTION_LOST = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
_client: httpx.Client | None = None
_fresh_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(settings.GATEWAY_UPSTREAM_TIMEOUT, connect=2.0)


def client() -> httpx.Client:
    """One pooled client per process, shared by its threads."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(
                timeout=_timeout(),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                follow_redirects=False,
            )
        return _client


def fresh_client() -> httpx.Client:
    """A client that keeps no connection, for the one retry: the pool may hold more stale ones."""
    global _fresh_client
    with _client_lock:
        if _fresh_client is None:
            _fresh_client = httpx.Client(
                timeout=_timeout(), limits=httpx.Limits(max_keepalive_connections=0), follow_redirects=False
            )
        return _fresh_client


def is_retry_safe(request: HttpRequest) -> bool:
    """Whether sending the request twice does no harm: a read, or a POST the upstream deduplicates by its key."""
    method = request.method or "GET"
    return method in ("GET", "HEAD") or (method == "POST" and bool(request.headers.get("Idempotency-Key")))


def forwarded_headers(request: HttpRequest) -> list[tuple[bytes, bytes]]:
    """The headers to send upstream, as the bytes the client sent.

    WSGI hands header values over decoded as latin-1, so encoding them back as
    latin-1 gives the original bytes; letting the HTTP client encode them as
    ASCII failed (500) on any non-ASCII byte, as in ``User-Agent: Café-App``.
    Raises :class:`Refused` (400) for a value that is no bytes at all, which
    only a caller other than a WSGI server can hand over.
    """
    replaced = {"x-request-id", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"}
    headers = [(name, value) for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP | replaced]
    client_ip = request.META.get("REMOTE_ADDR", "")
    prior = request.headers.get("X-Forwarded-For")
    headers.append(("X-Forwarded-For", f"{prior}, {client_ip}" if prior else client_ip))
    headers.append(("X-Forwarded-Host", request.get_host()))
    headers.append(("X-Forwarded-Proto", request.scheme or "http"))
    headers.append(("X-Request-ID", request_id_var.get()))
    encoded = []
    for name, value in headers:
        try:
            encoded.append((name.encode("latin-1"), value.encode("latin-1")))
        except UnicodeEncodeError:
            raise Refused(400, f"The {name} header is not a valid header value.", code="invalid-header") from None
    return encoded


@csrf_exempt
def forward(request: HttpRequest) -> HttpResponse:
    """The catch-all for the public API: check the request, then forward it to the service owning its path.

    In order: a method the path has (405, :class:`shared.middleware.MethodNotAllowedMiddleware`,
    before this view), a route (404), access by the shared table (401/403), the rate limit (429),
    the body (413/415/400). A refused request reaches no service.
    """
    route = route_for(request.path)
    if route is None:
        return problem_response(404, detail=f"Nothing at {request.path}.")
    limit_headers: dict[str, str] = {}
    try:
        principal = check_access(request)
        decision = check_rate(request, principal)
        if decision is not None:
            limit_headers = rate_limit_headers(decision)
        body = checked_body(request)
        headers = forwarded_headers(request)
    except Refused as refusal:
        response: HttpResponse = refusal.response()
    else:
        response = send_upstream(request, route, body, headers)
    for name, value in limit_headers.items():
        response[name] = value
    return response


def send_upstream(request: HttpRequest, route: Route, body: bytes, headers: list[tuple[bytes, bytes]]) -> HttpResponse:
    """The upstream's answer as the gateway's, or a problem+json when the upstream failed.

    The answer's headers travel as bytes too (latin-1 is how Django writes them out again).
    """
    upstream = settings.SERVICE_URLS[route.service].rstrip("/") + request.get_full_path()
    method = request.method or "GET"
    try:
        try:
            answer = client().request(method, upstream, content=body, headers=headers)
        except CONNECTION_LOST as exc:
            if not is_retry_safe(request):
                raise
            logger.info("upstream %s dropped the connection (%s); retrying once on a new one", route.service, exc)
            answer = fresh_client().request(method, upstream, content=body, headers=headers)
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
    for raw_name, raw_value in answer.headers.raw:
        name = raw_name.decode("latin-1")
        if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding":
            response[name] = raw_value.decode("latin-1")
    return response
