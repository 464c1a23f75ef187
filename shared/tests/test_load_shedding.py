"""Load shedding: a request that waited longer than WEB_QUEUE_BUDGET_SECONDS for a worker thread is a 503 at once.

The wait is stamped by ops/gunicorn_worker.py (tests/test_web_processes.py checks it on real gunicorn);
here the stamp is set by hand on the WSGI environ.
"""

import json
import uuid

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from shared.middleware import QUEUE_SECONDS, LoadSheddingMiddleware
from shared.testing.tokens import access_token


def shedding(settings, budget: float) -> tuple[LoadSheddingMiddleware, list[HttpRequest]]:
    settings.WEB_QUEUE_BUDGET_SECONDS = budget
    served: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        served.append(request)
        return HttpResponse("served")

    return LoadSheddingMiddleware(view), served


def test_a_request_that_waited_longer_than_the_budget_is_503_problem_json_and_no_view_runs(settings):
    middleware, served = shedding(settings, 0.5)
    response = middleware(RequestFactory().post("/api/v1/orders", **{QUEUE_SECONDS: 0.8}))
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "1"
    problem = json.loads(response.content)
    assert problem["status"] == 503
    assert problem["type"].endswith("/overloaded")
    assert "nothing was done" in problem["detail"]
    assert served == []


@pytest.mark.parametrize("environ", [{QUEUE_SECONDS: 0.49}, {QUEUE_SECONDS: 0.0}, {}])
def test_a_request_within_the_budget_or_without_a_stamp_is_served(settings, environ):
    middleware, served = shedding(settings, 0.5)
    response = middleware(RequestFactory().get("/api/v1/products", **environ))
    assert response.status_code == 200
    assert len(served) == 1


def test_a_budget_of_zero_sheds_nothing(settings):
    middleware, served = shedding(settings, 0)
    assert middleware(RequestFactory().get("/", **{QUEUE_SECONDS: 30.0})).status_code == 200
    assert len(served) == 1


@pytest.mark.django_db
def test_a_shed_order_placement_did_nothing_so_its_retry_is_safe(client, settings):
    """Through the service's whole middleware stack: the POST is refused before its view, no order exists."""
    from orders.models import Order

    settings.WEB_QUEUE_BUDGET_SECONDS = 0.5
    body = {"items": [{"product_id": str(uuid.uuid4()), "quantity": 1}]}
    response = client.post(
        "/api/v1/orders",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token()}",
        HTTP_IDEMPOTENCY_KEY="shed-1",
        HTTP_X_REQUEST_ID="shed-request-1",
        **{QUEUE_SECONDS: 0.6},
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response["X-Request-ID"] == "shed-request-1"
    assert response.json()["request_id"] == "shed-request-1"
    assert not Order.objects.exists()


def test_behind_the_gateway_its_queue_wait_counts_with_the_services_own(settings):
    """One budget for both queues: 0.3 s at the gateway plus 0.3 s here is past 0.5 s, though neither alone is."""
    middleware, served = shedding(settings, 0.5)
    response = middleware(RequestFactory().post("/api/v1/orders", HTTP_X_QUEUE_WAIT="0.300000", **{QUEUE_SECONDS: 0.3}))
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert served == []
    assert middleware(RequestFactory().get("/api/v1/products", HTTP_X_QUEUE_WAIT="0.6")).status_code == 503
    assert middleware(RequestFactory().get("/api/v1/products", HTTP_X_QUEUE_WAIT="0.2")).status_code == 200


@pytest.mark.parametrize("header", ["soon", "-5", "nan", "", "0"])
def test_a_queue_wait_header_that_is_no_wait_adds_nothing_and_takes_nothing_off(settings, header):
    middleware, served = shedding(settings, 0.5)
    response = middleware(RequestFactory().get("/api/v1/products", HTTP_X_QUEUE_WAIT=header, **{QUEUE_SECONDS: 0.4}))
    assert response.status_code == 200
    assert len(served) == 1
    response = middleware(RequestFactory().get("/api/v1/products", HTTP_X_QUEUE_WAIT=header, **{QUEUE_SECONDS: 0.6}))
    assert response.status_code == 503


def test_the_gateway_ignores_a_clients_queue_wait_header(settings):
    """The gateway is where the header is set; a client's own would only have its request shed."""
    settings.SERVICE_NAME = "gateway"
    middleware, served = shedding(settings, 0.5)
    assert middleware(RequestFactory().get("/api/v1/products", HTTP_X_QUEUE_WAIT="30")).status_code == 200
    assert len(served) == 1
