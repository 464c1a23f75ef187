"""Every error leaves as problem+json, with the request id and never a traceback."""

import json
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection
from django.http import Http404
from django.test import Client, RequestFactory
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops.procs import free_port
from shared import errors
from shared.errors import Conflict, problem_exception_handler
from shared.logs import request_id_var


class _Input(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1)
    items = serializers.ListField(child=serializers.DictField(), min_length=1)


def handle(exc: Exception) -> tuple[int, dict, dict]:
    request = RequestFactory().get("/x")
    response = problem_exception_handler(exc, {"view": APIView(), "request": request})
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = "application/json"
    response.renderer_context = {}
    response.render()
    return response.status_code, json.loads(response.rendered_content), dict(response.items())


def test_validation_error_lists_each_field():
    serializer = _Input(data={"quantity": 0})
    assert not serializer.is_valid()
    token = request_id_var.set("req-1")
    try:
        status, body, headers = handle(exceptions.ValidationError(serializer.errors))
    finally:
        request_id_var.reset(token)
    assert status == 400
    assert headers["Content-Type"] == "application/problem+json"
    assert body["request_id"] == "req-1"
    assert body["title"] == "Invalid request"
    assert set(body["errors"]) == {"quantity", "items"}
    assert body["errors"]["quantity"] == ["Ensure this value is greater than or equal to 1."]


def test_domain_error_carries_its_status_and_code():
    status, body, _ = handle(Conflict("Order is already shipped."))
    assert status == 409
    assert body["type"].endswith("/conflict")
    assert body["detail"] == "Order is already shipped."
    assert "errors" not in body


def test_unauthenticated_is_401_with_www_authenticate():
    status, body, headers = handle(exceptions.NotAuthenticated())
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert body["status"] == 401


def test_throttled_sets_retry_after():
    status, _, headers = handle(exceptions.Throttled(wait=2.2))
    assert status == 429
    assert headers["Retry-After"] == "3"


@pytest.mark.parametrize(
    ("domain_error", "drf_exception"),
    [
        (errors.NotAuthenticated("Wrong password."), exceptions.AuthenticationFailed("Wrong password.")),
        (errors.Forbidden("Not yours."), exceptions.PermissionDenied("Not yours.")),
        (errors.NotFound("No order has this id."), exceptions.NotFound("No order has this id.")),
        (errors.TooManyRequests("Slow down.", retry_after=2.2), exceptions.Throttled(wait=2.2, detail="Slow down.")),
        (errors.TooManyRequests("Slow down.", retry_after=1), exceptions.Throttled(wait=1, detail="Slow down.")),
    ],
)
def test_a_shared_domain_error_answers_as_the_drf_exception_of_its_status(domain_error, drf_exception):
    """Domain code raises the shared family; the bodies and headers are the ones DRF's own give (API.md)."""
    assert handle(domain_error) == handle(drf_exception)


def test_a_domain_error_sends_its_headers():
    status, body, headers = handle(Conflict("Busy.", headers={"Retry-After": "5"}))
    assert (status, body["type"], headers["Retry-After"]) == (409, "https://shop.example/problems/conflict", "5")


def test_django_404_becomes_problem():
    status, body, _ = handle(Http404("secret detail"))
    assert status == 404
    assert "secret" not in body["detail"]


def test_unexpected_exception_is_500_without_traceback(caplog):
    status, body, _ = handle(RuntimeError("database password is hunter2"))
    assert status == 500
    assert "hunter2" not in json.dumps(body)
    assert "Traceback" not in json.dumps(body)
    assert any("unhandled error" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_unknown_url_is_problem_json(client):
    response = client.get("/no/such/page", HTTP_X_REQUEST_ID="trace-me")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["request_id"] == "trace-me"
    assert response["X-Request-ID"] == "trace-me"


@pytest.mark.django_db
def test_method_not_allowed_on_health_is_problem_json(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response["Allow"] == "GET"
    assert response.json()["detail"] == "This method is not allowed here."


class _CountsRows(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Response({"ok": True})


@pytest.fixture
def database_down(transactional_db) -> Iterator[None]:
    """Points the connection at a port nobody listens on, as during a Postgres restart."""
    closed_port = free_port()
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def test_database_unreachable_in_a_drf_view_is_503_with_retry_after(database_down):
    response = _CountsRows.as_view()(RequestFactory().get("/rows"))
    response.render()
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["type"].endswith("/database-unavailable")
    assert body["detail"] == "The database is unavailable for a moment; retry shortly."


def test_database_unreachable_outside_drf_is_503_not_500(database_down):
    # The session middleware loads the session from the database before any view runs.
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = "a" * 32
    response = client.get("/admin/login/")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 503
