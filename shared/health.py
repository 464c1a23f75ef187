"""``/healthz`` (the process answers) and ``/readyz`` (its database and Kafka answer)."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from shared.errors import problem_response
from shared.kafka import kafka_check


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def database_check() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"database did not answer: {exc}".strip()
    return None


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    failures = {name: error for name, error in (("database", database_check()), ("kafka", kafka_check())) if error}
    checks = {name: failures.get(name, "ok") for name in ("database", "kafka")}
    if failures:
        return problem_response(
            503, detail="Not ready: " + "; ".join(failures.values()), code="not-ready", checks=checks
        )
    return JsonResponse({"status": "ready", "checks": checks})
