"""Every error as ``application/problem+json`` (RFC 9457), from DRF views and plain Django alike.

Shape: ``{"type", "title", "status", "detail", "request_id", "errors"?}``.
Domain code raises :class:`DomainError` subclasses; unexpected exceptions
become a bare 500 problem (logged with the traceback, never sent). A database
that cannot be reached (a restart, a failover, a dropped connection) is not a
bug of ours: it answers 503 with ``Retry-After``, from a DRF view or anywhere
else in the request.
"""

from __future__ import annotations

import logging
import math
import sys
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from shared.logs import request_id_var

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://shop.example/problems/"
# The database went away under the request; the same request will most likely work a moment later.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 1
DATABASE_UNAVAILABLE_DETAIL = "The database is unavailable for a moment; retry shortly."


class DomainError(Exception):
    """A business rule refused the request. Subclasses set ``status`` and ``code``."""

    status: int = status.HTTP_400_BAD_REQUEST
    code: str = "invalid-request"
    title: str = "Invalid request"

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class Conflict(DomainError):
    status = status.HTTP_409_CONFLICT
    code = "conflict"
    title = "Conflict"


def problem_body(
    status_code: int,
    *,
    detail: str,
    title: str | None = None,
    code: str | None = None,
    errors: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    phrase = HTTPStatus(status_code).phrase
    body: dict[str, Any] = {
        "type": TYPE_BASE + (code or phrase.lower().replace(" ", "-").replace("'", "")),
        "title": title or phrase,
        "status": status_code,
        "detail": detail,
        "request_id": request_id_var.get(),
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return body


def problem_response(status_code: int, *, detail: str, **fields: Any) -> JsonResponse:
    """A problem+json answer for plain Django views (health, 404/500 handlers, middleware)."""
    return JsonResponse(
        problem_body(status_code, detail=detail, **fields), status=status_code, content_type=PROBLEM_CONTENT_TYPE
    )


def _field_errors(detail: Any) -> dict[str, list[str]]:
    """DRF's nested error detail flattened to ``{field: [messages]}``; top-level messages go to ``non_field_errors``."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for field, value in detail.items():
            for sub_field, messages in _field_errors(value).items():
                key = field if sub_field == "non_field_errors" else f"{field}.{sub_field}"
                flat.setdefault(key, []).extend(messages)
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {"non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            for sub_field, messages in _field_errors(item).items():
                key = str(index) if sub_field == "non_field_errors" else f"{index}.{sub_field}"
                flat.setdefault(key, []).extend(messages)
        return flat
    return {"non_field_errors": [str(detail)]}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: every exception a view raises leaves as problem+json."""
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        body = problem_body(exc.status, detail=exc.detail, title=exc.title, code=exc.code, errors=exc.errors)
        return Response(body, status=exc.status, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.error("database unavailable in %s: %s", context.get("view").__class__.__name__, exc)
        body = problem_body(503, detail=DATABASE_UNAVAILABLE_DETAIL, code="database-unavailable")
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        return Response(body, status=503, headers=headers, content_type=PROBLEM_CONTENT_TYPE)
    if not isinstance(exc, exceptions.APIException):
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__)
        body = problem_body(500, detail="The server failed to handle this request; it has been logged.")
        return Response(body, status=500, content_type=PROBLEM_CONTENT_TYPE)

    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        request = context.get("request")
        authenticate_header = None
        if request is not None and hasattr(context.get("view"), "get_authenticate_header"):
            authenticate_header = context["view"].get_authenticate_header(request)
        headers["WWW-Authenticate"] = authenticate_header or 'Bearer realm="api"'
        exc.status_code = status.HTTP_401_UNAUTHORIZED
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))

    if isinstance(exc, exceptions.ValidationError):
        body = problem_body(
            exc.status_code,
            detail="The request has invalid fields.",
            code="validation-error",
            title="Invalid request",
            errors=_field_errors(exc.detail),
        )
    else:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body = problem_body(exc.status_code, detail=str(detail))
    return Response(body, status=exc.status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


# Plain Django handlers (urls.py: handler400/403/404/500) and the CSRF failure view.
def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(400, detail="The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(403, detail="You are not allowed to do this.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(404, detail=f"Nothing at {request.path}.")


def server_error(request: HttpRequest) -> JsonResponse:
    """Django calls this while handling the exception, so ``sys.exc_info()`` names it: a database
    error raised outside DRF (a middleware, a plain view) still answers 503, not 500."""
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        response = problem_response(503, detail=DATABASE_UNAVAILABLE_DETAIL, code="database-unavailable")
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    return problem_response(500, detail="The server failed to handle this request; it has been logged.")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    return problem_response(403, detail=f"CSRF verification failed: {reason}", code="csrf-failed")
