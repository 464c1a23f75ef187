"""Every error as ``application/problem+json`` (RFC 9457), from DRF views and plain Django alike.

Shape: ``{"type", "title", "status", "detail", "request_id", "errors"?}``.
Domain code raises the :class:`DomainError` family (400, 401, 403, 404, 409,
429, 502, 503, with headers where the status wants them: ``Retry-After``,
``WWW-Authenticate``); unexpected exceptions become a bare 500 problem (logged
with the traceback, never sent). A database that cannot be reached (a restart,
a failover, a dropped connection) is not a bug of ours: it answers 503 with
``Retry-After``, from a DRF view or anywhere else in the request.
"""

from __future__ import annotations

import logging
import math
import sys
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from shared.ids import parse_uuid
from shared.logs import request_id_var

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://shop.example/problems/"
# The database went away under the request; the same request will most likely work a moment later.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 1
DATABASE_UNAVAILABLE_DETAIL = "The database is unavailable for a moment; retry shortly."


class DomainError(Exception):
    """A business rule refused the request: the one family every service raises, answered as problem+json.

    A subclass sets ``status``, ``code`` (the last part of the ``type`` URI) and ``title``; an app's
    ``errors`` module adds only the errors with a code of its own. ``headers`` go out with the answer
    (``Retry-After``, ``WWW-Authenticate``).
    """

    status: int = status.HTTP_400_BAD_REQUEST
    code: str = "invalid-request"
    title: str = "Invalid request"

    def __init__(
        self, detail: str, *, errors: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})


class InvalidInput(DomainError):
    """A field breaks a rule only the service can check; the same body as a serializer's refusal."""

    code = "validation-error"
    title = "Invalid request"


class NotAuthenticated(DomainError):
    """Credentials or a token that do not identify anyone (``WWW-Authenticate`` is added when answering)."""

    status = status.HTTP_401_UNAUTHORIZED
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(DomainError):
    """The caller is known but may not do this; subclasses name why in their ``code``."""

    status = status.HTTP_403_FORBIDDEN
    code = "forbidden"
    title = "Forbidden"


class NotFound(DomainError):
    status = status.HTTP_404_NOT_FOUND
    code = "not-found"
    title = "Not Found"


class Conflict(DomainError):
    status = status.HTTP_409_CONFLICT
    code = "conflict"
    title = "Conflict"


class TooManyRequests(DomainError):
    """Refused for now; ``retry_after`` (whole seconds, at least 1) goes out as ``Retry-After``."""

    status = status.HTTP_429_TOO_MANY_REQUESTS
    code = "too-many-requests"
    title = "Too Many Requests"

    def __init__(self, detail: str, *, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        unit = "second" if self.retry_after == 1 else "seconds"
        super().__init__(
            f"{detail} Expected available in {self.retry_after} {unit}.",
            headers={"Retry-After": str(self.retry_after)},
        )


class BadGateway(DomainError):
    """A service we depend on answered with an error or nonsense."""

    status = status.HTTP_502_BAD_GATEWAY
    code = "bad-gateway"
    title = "Bad gateway"


class ServiceUnavailable(DomainError):
    """A service we depend on did not answer in time; the client may retry."""

    status = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service-unavailable"
    title = "Service unavailable"


FoundT = TypeVar("FoundT")


def found_by_id(value: str, get: Callable[[uuid.UUID], FoundT | None], *, missing: str) -> FoundT:
    """What ``get`` finds for the id in a path; :class:`NotFound` (``missing``) when ``value`` is no UUID or
    nothing is there: a malformed id and an unknown one answer alike."""
    parsed = parse_uuid(value)
    found = get(parsed) if parsed is not None else None
    if found is None:
        raise NotFound(missing)
    return found


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


def _www_authenticate(context: dict[str, Any]) -> str:
    """The challenge of a 401: the view's authenticator's, or a plain Bearer one."""
    request = context.get("request")
    authenticate_header = None
    if request is not None and hasattr(context.get("view"), "get_authenticate_header"):
        authenticate_header = context["view"].get_authenticate_header(request)
    return authenticate_header or 'Bearer realm="api"'


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: every exception a view raises leaves as problem+json."""
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        body = problem_body(exc.status, detail=exc.detail, title=exc.title, code=exc.code, errors=exc.errors)
        headers = dict(exc.headers)
        if exc.status == status.HTTP_401_UNAUTHORIZED:
            headers.setdefault("WWW-Authenticate", _www_authenticate(context))
        return Response(body, status=exc.status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)
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
        headers["WWW-Authenticate"] = _www_authenticate(context)
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
