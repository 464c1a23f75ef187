"""``?page=N&page_size=M`` (max 100) -> ``{count, next, previous, results}``, as in API.md.

``next`` and ``previous`` are links a client follows, so they name the public
address (``PUBLIC_BASE_URL``, the gateway), not the service that built the page:
behind the gateway a service only sees its own internal host.

``page_size`` is a whole number from 1 to 100: ``page_size=0``, ``=500`` or ``=abc`` is a
400 naming it, never a quietly different page size (the OpenAPI schema says the same, see
:meth:`PageNumberPagination.get_schema_operation_parameters`). A ``page`` that is past the
last one, or no page number at all, is a 404. Empty, either counts as not given, as an empty
filter does (an HTML form sends ``?page=``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

MAX_PAGE_NUMBER = 2**31 - 1


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        return whole_number(request, self.page_size_query_param, maximum=self.max_page_size) or self.page_size

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        limits = {self.page_query_param: MAX_PAGE_NUMBER, self.page_size_query_param: self.max_page_size}
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": limits[parameter["name"]]}
            parameter["allowEmptyValue"] = True
        return parameters

    def get_next_link(self) -> str | None:
        return public_url(super().get_next_link())

    def get_previous_link(self) -> str | None:
        return public_url(super().get_previous_link())


def whole_number(request: Request, name: str, *, maximum: int) -> int | None:
    """The query parameter ``name`` as a number from 1 to ``maximum``, None when absent or empty; a 400 otherwise."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(maximum)) and 1 <= int(raw) <= maximum):
        raise ValidationError({name: [f"A whole number from 1 to {maximum}."]})
    return int(raw)


def public_url(url: str | None) -> str | None:
    """``url``'s path and query under ``PUBLIC_BASE_URL`` (whose own path, if any, is kept as a prefix)."""
    if url is None:
        return None
    base = urlsplit(settings.PUBLIC_BASE_URL)
    link = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + link.path, link.query, ""))
