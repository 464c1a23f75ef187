"""``?page=N&page_size=M`` (max 100) -> ``{count, next, previous, results}``, as in API.md.

``next`` and ``previous`` are links a client follows, so they name the public
address (``PUBLIC_BASE_URL``, the gateway), not the service that built the page:
behind the gateway a service only sees its own internal host.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_next_link(self) -> str | None:
        return public_url(super().get_next_link())

    def get_previous_link(self) -> str | None:
        return public_url(super().get_previous_link())


def public_url(url: str | None) -> str | None:
    """``url``'s path and query under ``PUBLIC_BASE_URL`` (whose own path, if any, is kept as a prefix)."""
    if url is None:
        return None
    base = urlsplit(settings.PUBLIC_BASE_URL)
    link = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + link.path, link.query, ""))
