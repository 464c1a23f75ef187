"""The middleware every service (and the gateway) runs first: request id, load shedding, problem+json, 405."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from shared.access import allowed_methods
from shared.errors import problem_response
from shared.logs import accept_request_id, request_id_var

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


# The WSGI environ key ops/gunicorn_worker.py sets: seconds the request waited between being queued for
# a thread and a thread taking it up. Absent under any other server (runserver, the test client).
QUEUE_SECONDS = "shop.queue_seconds"
# Set by the gateway only (gateway.proxy drops the client's): how long the request waited for a gateway
# worker thread, in seconds. A service behind the gateway sheds against the sum of both waits.
QUEUE_WAIT_HEADER = "X-Queue-Wait"
_QUEUE_WAIT_META = "HTTP_" + QUEUE_WAIT_HEADER.upper().replace("-", "_")  # as Django's request.META names it
# Seconds a client is asked to wait after a shed request (one: the queue is drained within the budget).
SHED_RETRY_AFTER_SECONDS = 1


def upstream_wait(header: str | None) -> float:
    """The gateway's ``X-Queue-Wait`` in seconds; 0 when absent, not a number, or negative (it never
    takes anything off the process's own wait)."""
    if not header:
        return 0.0
    try:
        waited = float(header)
    except ValueError:
        return 0.0
    return waited if waited > 0 else 0.0  # NaN too


class LoadSheddingMiddleware:
    """Answers 503 at once, before any view runs, a request that already waited longer than
    ``WEB_QUEUE_BUDGET_SECONDS``.

    The wait is this process's queue for a worker thread (ops/gunicorn_worker.py's stamp) plus, behind
    the gateway, the gateway's own (its ``X-Queue-Wait``). With one budget for both queues, a request
    that waited in the gateway's queue and then in the service's is refused once the two waits add up
    to the budget, not after up to a budget in each: what the client waits for is then at most the
    budget plus the work of the gateway and the service. Work is not counted: a slow first request
    after a start (connections, caches) is served, not refused. The header can only make a request
    shed sooner, so a forged one harms no one but its sender.

    Under overload a request served late is worth less than a quick refusal: the client gave up
    or will, and serving it makes every request queued behind it later still. A shed request did
    nothing (no view, no database write), so retrying it is always safe, a POST too; the answer
    says so with ``Retry-After``. Right after the request id, so the refusal carries the id and
    costs next to nothing; under another server than gunicorn (no stamp) only the header counts.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.budget = float(settings.WEB_QUEUE_BUDGET_SECONDS)
        # The gateway is the one that sets the header: it ignores a client's.
        self.behind_gateway = settings.SERVICE_NAME != "gateway"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.budget <= 0:
            return self.get_response(request)
        waited = request.META.get(QUEUE_SECONDS, 0.0)
        if self.behind_gateway:
            waited += upstream_wait(request.META.get(_QUEUE_WAIT_META))
        if waited <= self.budget:
            return self.get_response(request)
        shed = problem_response(
            503,
            detail=f"The service is overloaded; nothing was done. Retry in {SHED_RETRY_AFTER_SECONDS} s.",
            code="overloaded",
            title="Overloaded",
        )
        shed["Retry-After"] = str(SHED_RETRY_AFTER_SECONDS)
        return shed


class ProblemJsonMiddleware:
    """Turns any error response that is not JSON (Django's bare 405, a 413 from the request parser, ...)
    into problem+json, so no client ever gets an HTML error page. Headers such as ``Allow`` are kept."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or "json" in response.get("Content-Type", ""):
            return response
        problem = problem_response(response.status_code, detail=_DETAILS.get(response.status_code, "Request failed."))
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                problem[header] = response[header]
        return problem


class MethodNotAllowedMiddleware:
    """A method the path does not have (the route table's, :func:`shared.access.allowed_methods`) is 405
    with ``Allow``, before authentication: TRACE is 405 for anyone, not a 401 for the anonymous.

    The gateway and every service run it, so the answer is the same whichever one is called."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        allowed = allowed_methods(request.path)
        if request.method in allowed:
            return self.get_response(request)
        refused = problem_response(405, detail=f"{request.path} does not answer {request.method} requests.")
        refused["Allow"] = ", ".join(allowed)
        return refused


_DETAILS = {
    400: "The request could not be understood.",
    403: "You are not allowed to do this.",
    404: "Nothing here.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    500: "The server failed to handle this request; it has been logged.",
}
