"""Forwarding to real HTTP upstreams, and how upstream failures are answered."""

import pytest

from gateway import proxy
from gateway.tests.conftest import json_body
from gateway.tests.tokens import bearer
from ops.procs import free_port
from shared.testing.tokens import access_token

pytestmark = pytest.mark.django_db


def test_forwards_method_path_query_body_and_headers(client, upstreams):
    orders = upstreams["order"]
    orders.status = 201
    json_body(orders, {"id": "o-1", "status": "pending"})
    token = access_token(role="customer")
    response = client.post(
        "/api/v1/orders?expand=items&expand=history",
        data=b'{"items": []}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-1",
        HTTP_X_REQUEST_ID="req-abc",
        HTTP_CONNECTION="close, X-Secret",
        HTTP_KEEP_ALIVE="timeout=5",
        **bearer(token),
    )
    assert response.status_code == 201
    assert response.json() == {"id": "o-1", "status": "pending"}
    assert response["X-Request-ID"] == "req-abc"
    (seen,) = orders.requests
    assert seen["method"] == "POST"
    assert seen["path"] == "/api/v1/orders?expand=items&expand=history"
    assert seen["body"] == b'{"items": []}'
    headers = {name.lower(): value for name, value in seen["headers"].items()}
    assert headers["idempotency-key"] == "key-1"
    assert headers["x-request-id"] == "req-abc"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["content-type"] == "application/json"
    assert headers["authorization"] == f"Bearer {token}"  # unchanged: the service verifies it again
    assert "keep-alive" not in headers
    assert headers.get("connection", "keep-alive") == "keep-alive"  # the gateway's own, not the client's


def test_upstream_error_answers_pass_through(client, upstreams):
    upstreams["product"].status = 404
    upstreams["product"].headers = {"Content-Type": "application/problem+json"}
    json_body(upstreams["product"], {"status": 404, "title": "Not Found"})
    response = client.get("/api/v1/products/nope")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Not Found"


def test_connection_refused_is_503(client, upstreams, settings):
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, "product": f"http://127.0.0.1:{free_port()}"}
    response = client.get("/api/v1/products")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "The product service is unavailable."


def test_slow_upstream_is_504(client, upstreams, settings):
    settings.GATEWAY_UPSTREAM_TIMEOUT = 0.3
    upstreams["order"].delay = 1.0
    response = client.get("/api/v1/orders", **bearer(access_token()))
    assert response.status_code == 504
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "The order service did not answer in time."


def test_a_cookie_an_upstream_set_for_one_client_never_travels_with_another_clients_request(rf, upstreams):
    """The gateway keeps no cookie jar: a forwarding client that did would hand one user's cookies to the next."""
    products = upstreams["product"]
    products.headers = {"Content-Type": "application/json", "Set-Cookie": "sessionid=first-clients; Path=/"}
    first = proxy.forward(rf.get("/api/v1/products"))
    assert first["Set-Cookie"] == "sessionid=first-clients; Path=/"  # passed on to the client it was meant for

    second = rf.get("/api/v1/products?page=2")
    del second.META["HTTP_COOKIE"]  # another client, with no cookie of its own
    assert proxy.forward(second).status_code == 200

    assert "cookie" not in {name.lower() for name in products.requests[1]["headers"]}


def test_upstream_hanging_up_is_502(client, upstreams):
    upstreams["inventory"].hang_up = True
    response = client.get("/api/v1/inventory", **bearer(access_token(role="staff")))
    assert response.status_code == 502
    assert response["Content-Type"] == "application/problem+json"


def test_unrouted_api_path_is_404_and_not_forwarded(client, upstreams):
    response = client.get("/api/v1/secrets")
    assert response.status_code == 404
    assert all(not upstream.requests for upstream in upstreams.values())


def test_get_is_retried_once_on_a_new_connection_when_a_pooled_one_was_closed(client, upstreams):
    products = upstreams["product"]
    products.drop_reused_connections = True
    assert client.get("/api/v1/products").status_code == 200  # leaves a kept-alive connection in the pool

    response = client.get("/api/v1/products?page=2")

    assert response.status_code == 200
    assert [seen["path"] for seen in products.requests] == [
        "/api/v1/products",
        "/api/v1/products?page=2",  # dropped on the pooled connection
        "/api/v1/products?page=2",  # answered on the new one
    ]


def test_post_with_idempotency_key_is_retried_once_when_a_pooled_connection_was_closed(client, upstreams):
    orders = upstreams["order"]
    orders.drop_reused_connections = True
    token = access_token(role="customer")
    assert client.get("/api/v1/orders", **bearer(token)).status_code == 200

    response = client.post(
        "/api/v1/orders", data=b"{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY="key-7", **bearer(token)
    )

    assert response.status_code == 200
    assert [(seen["method"], seen["headers"].get("Idempotency-Key")) for seen in orders.requests] == [
        ("GET", None),
        ("POST", "key-7"),
        ("POST", "key-7"),
    ]


def test_post_without_idempotency_key_is_never_retried(client, upstreams):
    orders = upstreams["order"]
    orders.drop_reused_connections = True
    token = access_token(role="customer")
    assert client.get("/api/v1/orders", **bearer(token)).status_code == 200

    response = client.post("/api/v1/orders", data=b"{}", content_type="application/json", **bearer(token))

    assert response.status_code == 502
    assert response["Content-Type"] == "application/problem+json"
    assert [seen["method"] for seen in orders.requests] == ["GET", "POST"]


def test_non_ascii_header_bytes_travel_upstream_unchanged(client, upstreams):
    # WSGI hands header bytes over decoded as latin-1: "Café" sent as UTF-8 arrives as "CafÃ©".
    utf8_as_wsgi_gives_it = "Café-App/1.0".encode().decode("latin-1")
    response = client.get("/api/v1/products?page_size=1", HTTP_USER_AGENT=utf8_as_wsgi_gives_it)
    assert response.status_code == 200
    (seen,) = upstreams["product"].requests
    assert seen["raw_headers"]["user-agent"] == "Café-App/1.0".encode()


def test_header_that_is_not_bytes_is_refused_with_400(client, upstreams):
    response = client.get("/api/v1/products", HTTP_X_NOTE="snow ☃")  # only a test client can send this
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "X-Note" in response.json()["detail"]
    assert not upstreams["product"].requests


def test_non_ascii_bytes_in_an_upstream_answer_header_pass_through(client, upstreams):
    # http.server writes header text as latin-1: this sends the UTF-8 bytes of "Café €".
    utf8_bytes = "Café €".encode().decode("latin-1")
    upstreams["product"].headers = {"Content-Type": "application/json", "X-Label": utf8_bytes}
    response = client.get("/api/v1/products")
    assert response.status_code == 200
    assert response.headers["X-Label"].encode("latin-1") == "Café €".encode()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
@pytest.mark.parametrize("signed_in", [False, True])
def test_a_method_no_operation_has_is_405_before_auth(client, upstreams, method, signed_in):
    response = client.generic(method, "/api/v1/products", **(bearer(access_token()) if signed_in else {}))

    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response["Allow"] == "GET, HEAD, POST, OPTIONS"
    assert all(not upstream.requests for upstream in upstreams.values())


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_method_the_route_does_not_have_is_405_with_its_methods_before_auth(client, upstreams, signed_in):
    response = client.put("/.well-known/jwks.json", **(bearer(access_token()) if signed_in else {}))

    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert all(not upstream.requests for upstream in upstreams.values())


def test_the_gateways_queue_wait_travels_upstream_and_a_clients_own_does_not(client, upstreams):
    """The service sheds against both waits (shared.middleware.LoadSheddingMiddleware); only the gateway says
    what its own was (ops/gunicorn_worker.py's stamp; none under the test client, so 0)."""
    from shared.middleware import QUEUE_SECONDS

    client.get("/api/v1/products", HTTP_X_QUEUE_WAIT="99", **{QUEUE_SECONDS: 0.25})
    client.get("/api/v1/products", HTTP_X_QUEUE_WAIT="99")
    stamped, unstamped = (
        {name.lower(): value for name, value in seen["headers"].items()} for seen in upstreams["product"].requests
    )
    assert stamped["x-queue-wait"] == "0.250000"
    assert unstamped["x-queue-wait"] == "0.000000"


def test_a_forwarded_request_skips_the_middleware_only_the_gateways_own_pages_use(client, upstreams, monkeypatch):
    """gateway.middleware.ForwardMiddleware: sessions, CSRF, authentication, messages and the rest below it
    never see a forwarded request, while every answer keeps the headers the middleware above it adds."""
    from django.contrib.messages.middleware import MessageMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    def not_for_forwarded_requests(self, request):
        raise AssertionError(f"{type(self).__name__} ran for {request.path}")

    monkeypatch.setattr(SessionMiddleware, "process_request", not_for_forwarded_requests)
    monkeypatch.setattr(MessageMiddleware, "process_request", not_for_forwarded_requests)
    json_body(upstreams["product"], {"results": []})
    response = client.get("/api/v1/products", HTTP_X_REQUEST_ID="short-way-1")
    assert response.status_code == 200
    assert response.json() == {"results": []}
    assert response["X-Request-ID"] == "short-way-1"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(response.content))
    assert response.resolver_match.url_name == "forward"  # what Prometheus labels the view with
    refused = client.get("/api/v1/orders")  # refused by the gateway itself: the same headers
    assert refused.status_code == 401
    assert refused["X-Frame-Options"] == "DENY"
    assert refused["Content-Type"] == "application/problem+json"


def test_the_upstream_timeout_counts_from_when_the_gateway_received_the_request(client, upstreams, settings):
    """GATEWAY_UPSTREAM_TIMEOUT bounds the whole answer: the wait for a gateway thread is taken off it."""
    from shared.middleware import QUEUE_SECONDS

    settings.GATEWAY_UPSTREAM_TIMEOUT = 0.8
    settings.WEB_QUEUE_BUDGET_SECONDS = 0  # the wait alone sheds nothing here
    upstreams["product"].delay = 0.4
    assert client.get("/api/v1/products").status_code == 200
    late = client.get("/api/v1/products", **{QUEUE_SECONDS: 0.6})  # 0.2 s left for a 0.4 s upstream
    assert late.status_code == 504
    assert late["Content-Type"] == "application/problem+json"
