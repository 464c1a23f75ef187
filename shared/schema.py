"""What every service's OpenAPI document says beyond what drf-spectacular infers.

- Our bearer JWT authentication (and its subclasses) as the ``bearerAuth`` scheme.
- Input serializers that refuse unknown fields (:class:`~shared.serializers.StrictInput`) say so:
  ``additionalProperties: false``.
- Every operation documents its error answers, each an ``application/problem+json``
  :data:`PROBLEM` (one component, ``Problem``, the same in every service so the gateway's merged
  document holds it once). Which answers an operation can give is derived here, in
  :meth:`AutoSchema.error_answers`, from what the code does: the route table's access level,
  whether the view authenticates, path parameters, pagination, a request body. A view adds
  the answers only its own logic gives (a 409 on a duplicate, a 401 on wrong credentials) with
  ``@extend_schema(responses={409: OpenApiResponse(description=...)})``; the content is filled in here.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent, force_instance, is_basic_serializer
from rest_framework import serializers

from shared.access import Access, access_for
from shared.errors import PROBLEM_CONTENT_TYPE, TYPE_BASE

PROBLEM_COMPONENT = "Problem"
PROBLEM: dict[str, Any] = {
    "type": "object",
    "description": "An error answer (RFC 9457). Other members may appear (readiness answers name their checks).",
    "properties": {
        "type": {"type": "string", "description": f"A URI naming the kind of problem, under {TYPE_BASE}."},
        "title": {"type": "string", "description": "A short summary of the kind of problem."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status."},
        "detail": {"type": "string", "description": "What went wrong with this request, for a person."},
        "request_id": {"type": "string", "description": "The X-Request-ID of the request; every log line has it."},
        "errors": {
            "type": "object",
            "description": "Per field or parameter (`items.0.quantity`, `non_field_errors`), what is wrong with it.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status", "detail", "request_id"],
}

# What each error answer means, wherever it appears; a view's own description replaces it.
ERROR_ANSWERS: dict[str, str] = {
    "400": "The request is invalid: a malformed body or query parameter, or fields that fail validation "
    "(`errors` names each).",
    "401": "No valid access token (`WWW-Authenticate` says why).",
    "403": "Only staff may do this.",
    "404": "Nothing has this id, or the caller may not see it.",
    "404-page": "The page is past the last one.",
    "413": "The body is larger than the gateway accepts.",
    "414": "The request line (path and query) is longer than the web server accepts.",
    "415": "The body is not JSON (send `Content-Type: application/json`).",
    "429": "Too many requests (the gateway's rate limit); retry after `Retry-After` seconds.",
    "431": "A header field, or the headers together, are larger than the web server accepts.",
    "503": "A service or its database is unavailable for a moment; retry after `Retry-After` seconds.",
}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BearerJWTScheme(OpenApiAuthenticationExtension):
    target_class = "shared.jwt_auth.JWTAuthentication"
    match_subclasses = True
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class StrictInputSchema(OpenApiSerializerExtension):
    """A :class:`~shared.serializers.StrictInput` refuses every field it does not name (400)."""

    target_class = "shared.serializers.StrictInput"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        if "__doc__" not in vars(type(self.target)):
            schema.pop("description", None)  # StrictInput's own docstring, inherited: nothing about this input
        return schema


def decimal_pattern(field: serializers.DecimalField) -> str:
    """What :class:`~rest_framework.serializers.DecimalField` takes as text: ``12``, ``12.5``, ``12.``, ``.5``."""
    places = field.decimal_places
    whole = r"\d+" if field.max_digits is None else f"\\d{{1,{field.max_digits - (places or 0)}}}"
    fraction, only_fraction = (r"\d*", r"\d+") if places is None else (f"\\d{{0,{places}}}", f"\\d{{1,{places}}}")
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    return f"^{sign}(?:{whole}(?:\\.{fraction})?|\\.{only_fraction})$"


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, plus each error answer the operation can give (``DEFAULT_SCHEMA_CLASS``), and
    text fields as strict as the server: one that refuses blank text has ``minLength: 1`` (and, when it
    trims whitespace first so ``"  "`` is blank too, ``pattern: \\S``); a decimal is digits, at most its
    field's places after the point, and no sign when it may not be negative."""

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        if schema.get("type") != "string" or field.read_only:
            return
        if isinstance(field, serializers.DecimalField):
            schema["pattern"] = decimal_pattern(field)
        elif isinstance(field, serializers.CharField) and not field.allow_blank:
            schema.setdefault("minLength", 1)
            if field.trim_whitespace and "pattern" not in schema and "format" not in schema:
                schema["pattern"] = r"\S"

    def _process_override_parameters(self, direction: Any = "request") -> dict[Any, Any]:
        """Query parameters read by a serializer: an empty optional one (``?category=``, as an HTML form
        sends it) counts as not given, so the schema allows the empty value (``allowEmptyValue``)."""
        parameters: dict[Any, Any] = super()._process_override_parameters(direction)
        optional = {
            name
            for override in self.get_override_parameters()
            if is_basic_serializer(override)
            for name, field in force_instance(override).fields.items()
            if not field.required
        }
        for (name, location), parameter in parameters.items():
            if parameter is not None and location == "query" and name in optional:
                parameter["allowEmptyValue"] = True
        return parameters

    def error_answers(self) -> dict[str, str]:
        """Status -> description of the error answers this operation can give, derived from the code."""
        access = access_for(self.path, self.method)
        answers = {"400": ERROR_ANSWERS["400"]}
        # A view that authenticates refuses a bad token even on a public route (the gateway forwards it).
        if access is not Access.PUBLIC or self.view.get_authenticators():
            answers["401"] = ERROR_ANSWERS["401"]
        if access in (Access.STAFF, Access.NOBODY):
            answers["403"] = ERROR_ANSWERS["403"]
        if "{" in self.path:
            answers["404"] = ERROR_ANSWERS["404"]
        elif self._is_list_view() and self._get_paginator() is not None:
            answers["404"] = ERROR_ANSWERS["404-page"]
        if self.method in BODY_METHODS:
            answers["413"] = ERROR_ANSWERS["413"]
            answers["415"] = ERROR_ANSWERS["415"]
        # The web server itself (gunicorn, ops/gunicorn_worker.py) answers these for any operation.
        answers["414"] = ERROR_ANSWERS["414"]
        answers["429"] = ERROR_ANSWERS["429"]
        answers["431"] = ERROR_ANSWERS["431"]
        answers["503"] = ERROR_ANSWERS["503"]
        return dict(sorted(answers.items()))

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        problem = {PROBLEM_CONTENT_TYPE: {"schema": self._problem_component().ref}}
        derived = self.error_answers()
        for code in {code for code in responses if code >= "400"} | set(derived):
            own = responses.get(code, {}).get("description")
            responses[code] = {"description": own or derived.get(code, ""), "content": problem}
        return dict(sorted(responses.items()))

    def _problem_component(self) -> ResolvedComponent:
        component = ResolvedComponent(
            name=PROBLEM_COMPONENT, type=ResolvedComponent.SCHEMA, object=PROBLEM_COMPONENT, schema=PROBLEM
        )
        self.registry.register_on_missing(component)
        return component
