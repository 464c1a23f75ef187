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

import functools
import logging
import threading

import httpcore
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
from shared.middleware import QUEUE_SECONDS, QUEUE_WAIT_HEADER

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
# Request headers the gateway drops or sets itself (a client's own X-Queue-Wait would only get its request shed).
NOT_FORWARDED = HOP_BY_HOP | {
    "x-request-id",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    QUEUE_WAIT_HEADER.lower(),
}
# An upstream that closed or reset the connection before answering: on a kept-alive connection
# this is usually the upstream's keep-alive timeout or a restarted worker, not a refusal.
CONNECTION_LOST = (httpcore.RemoteProtocolError, httpcore.ReadError, httpcore.WriteError)
# Every other way a forwarded request can fail without an answer (a 502).
TRANSPORT_FAILED = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol)
# Below gunicorn's keep-alive (5 s, ops/gunicorn_conf.py): the upstream must not be the one to close an
# idle pooled connection just as a request goes out on it.
KEEPALIVE_EXPIRY_SECONDS = 4.0
CONNECT_TIMEOUT_SECONDS = 2.0
# What an upstream gets at least, whatever the request's wait for a gateway thread took of the timeout.
MIN_UPSTREAM_TIMEOUT_SECONDS = 0.05
_client: httpx.Client | None = None
_pool: httpcore.ConnectionPool | None = None
_fresh_pool: httpcore.ConnectionPool | None = None
_client_lock = threading.Lock()


def client() -> httpx.Client:
    """The gateway's own calls to the services (readiness, OpenAPI documents): one pooled client per process."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(
                timeout=httpx.Timeout(settings.GATEWAY_UPSTREAM_TIMEOUT, connect=CONNECT_TIMEOUT_SECONDS),
                follow_redirects=False,
            )
        return _client


def pool() -> httpcore.ConnectionPool:
    """The keep-alive connections forwarded requests travel on: one pool per process, shared by its threads.

    httpcore, not httpx: httpx's client costs about as much CPU again per request as the
    connection itself (URL and header models, a cookie jar, an INFO log line per request),
    and its shared cookie jar would carry one client's cookies into another client's requests.
    """
    global _pool
    with _client_lock:
        if _pool is None:
            _pool = httpcore.ConnectionPool(
                max_connections=100, max_keepalive_connections=50, keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS
            )
        return _pool


def fresh_pool() -> httpcore.ConnectionPool:
    """A pool that keeps no connection, for the one retry: the pool may hold more stale ones."""
    global _fresh_pool
    with _client_lock:
        if _fresh_pool is None:
            _fresh_pool = httpcore.ConnectionPool(max_keepalive_connections=0)
        return _fresh_pool


def reset_clients() -> None:
    """Forgets the pools and the client, so the next request builds them anew (tests)."""
    global _client, _pool, _fresh_pool
    with _client_lock:
        for closable in (_client, _pool, _fresh_pool):
            if closable is not None:
                closable.close()
        _client = _pool = _fresh_pool = None


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
    headers = [(name, value) for name, value in request.headers.items() if name.lower() not in NOT_FORWARDED]
    client_ip = request.META.get("REMOTE_ADDR", "")
    prior = request.headers.get("X-Forwarded-For")
    headers.append(("X-Forwarded-For", f"{prior}, {client_ip}" if prior else client_ip))
    headers.append(("X-Forwarded-Host", request.get_host()))
    headers.append(("X-Forwarded-Proto", request.scheme or "http"))
    headers.append(("X-Request-ID", request_id_var.get()))
    # How long the request waited for a gateway thread (ops/gunicorn_worker.py's stamp): the service sheds it
    # when both queues' waits add up to the budget (shared.middleware.LoadSheddingMiddleware).
    headers.append((QUEUE_WAIT_HEADER, f"{request.META.get(QUEUE_SECONDS, 0.0):.6f}"))
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

    The answer's body and headers pass through as the upstream's bytes, never decoded or parsed
    (latin-1 is how Django writes header text out again); only hop-by-hop headers stay behind.
    """
    target = request.get_full_path().encode("ascii")  # percent-encoded by Django: ASCII only
    origin = _origin(settings.SERVICE_URLS[route.service])
    url = httpcore.URL(scheme=origin.scheme, host=origin.host, port=origin.port, target=origin.target + target)
    method = (request.method or "GET").encode("ascii")
    # The timeout counts from when the gateway received the request: the wait for a gateway thread is
    # already spent, so GATEWAY_UPSTREAM_TIMEOUT bounds the whole answer, not what is left after a queue.
    waited = request.META.get(QUEUE_SECONDS, 0.0)
    timeout = max(MIN_UPSTREAM_TIMEOUT_SECONDS, settings.GATEWAY_UPSTREAM_TIMEOUT - waited)
    extensions = {"timeout": {"connect": CONNECT_TIMEOUT_SECONDS, "read": timeout, "write": timeout, "pool": timeout}}
    try:
        try:
            answer = pool().request(method, url, headers=headers, content=body, extensions=extensions)
        except CONNECTION_LOST as exc:
            if not is_retry_safe(request):
                raise
            logger.info("upstream %s dropped the connection (%s); retrying once on a new one", route.service, exc)
            answer = fresh_pool().request(method, url, headers=headers, content=body, extensions=extensions)
    except httpcore.TimeoutException:
        logger.warning("upstream %s timed out", route.service)
        return problem_response(504, detail=f"The {route.service} service did not answer in time.")
    except httpcore.ConnectError:
        logger.warning("upstream %s refused the connection", route.service)
        return problem_response(503, detail=f"The {route.service} service is unavailable.")
    except TRANSPORT_FAILED as exc:
        logger.warning("upstream %s failed: %s", route.service, exc)
        return problem_response(502, detail=f"The {route.service} service gave a bad answer.")
    response = HttpResponse(answer.content, status=answer.status)
    for raw_name, raw_value in answer.headers:
        name = raw_name.decode("latin-1")
        if name.lower() not in HOP_BY_HOP:
            response[name] = raw_value.decode("latin-1")
    return response


@functools.cache
def _origin(service_url: str) -> httpcore.URL:
    """A service's base URL (``SERVICE_URLS``) parsed once; its path, if any, prefixes every target."""
    parsed = httpcore.URL(service_url.rstrip("/"))
    return httpcore.URL(scheme=parsed.scheme, host=parsed.host, port=parsed.port, target=parsed.target.rstrip(b"/"))
