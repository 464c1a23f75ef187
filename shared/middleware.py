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
# Seconds a client is asked to wait after a shed request (one: the queue is drained within the budget).
SHED_RETRY_AFTER_SECONDS = 1


class LoadSheddingMiddleware:
    """Answers 503 at once, before any view runs, a request that already waited longer than
    ``WEB_QUEUE_BUDGET_SECONDS`` for a worker thread (the wait is ops/gunicorn_worker.py's stamp).

    Under overload a request served late is worth less than a quick refusal: the client gave up
    or will, and serving it makes every request queued behind it later still. A shed request did
    nothing (no view, no database write), so retrying it is always safe, a POST too; the answer
    says so with ``Retry-After``. Right after the request id, so the refusal carries the id and
    costs next to nothing; under another server than gunicorn (no stamp) nothing is shed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.budget = float(settings.WEB_QUEUE_BUDGET_SECONDS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        waited = request.META.get(QUEUE_SECONDS, 0.0)
        if self.budget <= 0 or waited <= self.budget:
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
