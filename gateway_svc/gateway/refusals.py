"""The one exception the gateway's request checks raise: answer the client ourselves, forward nothing."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import JsonResponse

from shared.errors import problem_response


class Refused(Exception):
    """A request the gateway answers itself with a problem+json, instead of forwarding it.

    ``headers`` travel with the answer (``WWW-Authenticate``, ``Retry-After``, ...).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.title = title
        self.headers = dict(headers or {})
        self.errors = errors

    def response(self) -> JsonResponse:
        response = problem_response(
            self.status, detail=self.detail, code=self.code, title=self.title, errors=self.errors
        )
        for name, value in self.headers.items():
            response[name] = value
        return response
