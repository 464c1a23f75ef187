"""Request id on every request and response (``X-Request-ID``, echoed when valid)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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


_DETAILS = {
    400: "The request could not be understood.",
    403: "You are not allowed to do this.",
    404: "Nothing here.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    500: "The server failed to handle this request; it has been logged.",
}
