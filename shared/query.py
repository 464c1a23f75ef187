"""The one query-parameter cleaning step: text PostgreSQL cannot compare is refused before any filter sees it.

A NUL in ``?search=`` reached ``ILIKE`` and PostgreSQL answered with a
``DataError`` (a 500); every filter of every service, the admin's search included,
would need the same check. Here it is made once, for every parameter name and value
of every request: a NUL or a lone surrogate is a 400 problem naming the parameter.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from shared.errors import problem_response
from shared.parsers import UNSTORABLE_CHARACTER


class QueryCleaningMiddleware:
    """After the request id and problem+json middleware, so the refusal carries the id like any answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name, values in request.GET.lists():
            if any(UNSTORABLE_CHARACTER.search(text) for text in [name, *values]):
                shown = json.dumps(name)[1:-1]  # escaped, as the name itself may hold the character
                return problem_response(
                    400,
                    detail=f"The query parameter {shown} has a NUL character or a lone surrogate.",
                    code="invalid-query",
                    title="Invalid request",
                    errors={shown: ["Text may contain neither NUL nor lone surrogates."]},
                )
        return self.get_response(request)
