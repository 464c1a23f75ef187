"""Checks on a request body before it is forwarded: size (413), media type (415), JSON syntax (400).

The services parse the body again; the gateway only keeps what cannot be valid
away from them, and answers in problem+json as every service would.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from gateway.refusals import Refused
from shared.parsers import InvalidJsonDocument, load_json_document

METHODS_WITH_JSON_BODY = frozenset({"POST", "PUT", "PATCH"})


def is_json_media_type(media_type: str) -> bool:
    """``application/json`` or a structured ``application/*+json`` (RFC 6839), e.g. merge-patch+json."""
    media_type = media_type.strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def checked_body(request: HttpRequest) -> bytes:
    """The request body, once it is no bigger than ``GATEWAY_MAX_BODY_BYTES`` and, when it has content, JSON.

    Raises :class:`Refused`: 413 (too big, by its Content-Length or by what was
    read), 400 (a Content-Length that is not a size; a JSON body that does not
    parse), 415 (a POST, PUT or PATCH body in another media type).
    """
    limit = settings.GATEWAY_MAX_BODY_BYTES
    declared = _declared_length(request)
    if declared > limit:
        raise _too_large(limit)
    try:
        body = request.body
    except RequestDataTooBig:
        raise _too_large(limit) from None
    if len(body) > limit:
        raise _too_large(limit)
    if not body:
        return body
    media_type = request.content_type or ""
    if not is_json_media_type(media_type):
        if request.method in METHODS_WITH_JSON_BODY:
            came_as = f"it came as {media_type}" if media_type else "it came without a Content-Type"
            raise Refused(415, f"Send the body as application/json ({came_as}).", code="unsupported-media-type")
        return body
    try:
        # The services' own rules (shared.parsers), so a body they would refuse stops here already.
        load_json_document(body)
    except InvalidJsonDocument as exc:
        raise Refused(
            400,
            "The body is not valid JSON.",
            code="invalid-json",
            title="Invalid request",
            errors={"body": [str(exc)]},
        ) from None
    return body


def _declared_length(request: HttpRequest) -> int:
    text = str(request.META.get("CONTENT_LENGTH") or "0").strip()
    if not (text.isascii() and text.isdigit()):
        raise Refused(
            400,
            "Content-Length must be a whole number of bytes.",
            errors={"Content-Length": [f"{text!r} is not a number of bytes."]},
        )
    return int(text)


def _too_large(limit: int) -> Refused:
    return Refused(413, f"The request body is larger than {limit} bytes.", code="body-too-large")
