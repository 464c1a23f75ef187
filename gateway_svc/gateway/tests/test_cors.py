"""CORS for the configured storefront origins only (django-cors-headers)."""

import pytest

from gateway.tests.tokens import bearer
from shared.testing.tokens import access_token

pytestmark = pytest.mark.django_db

STOREFRONT = "https://shop.example"


@pytest.fixture
def storefront(settings):
    settings.CORS_ALLOWED_ORIGINS = [STOREFRONT]


def preflight(client, origin, path="/api/v1/orders"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key, x-request-id",
    )


def test_preflight_from_an_allowed_origin_gets_the_allow_headers(client, upstreams, storefront):
    response = preflight(client, STOREFRONT)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == STOREFRONT
    allowed = {name.strip() for name in response["Access-Control-Allow-Headers"].split(",")}
    assert allowed >= {"authorization", "content-type", "idempotency-key", "x-request-id"}
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert response["X-Request-ID"]
    assert all(not upstream.requests for upstream in upstreams.values())  # answered by the gateway


def test_preflight_from_another_origin_gets_no_allow_headers(client, upstreams, storefront):
    response = preflight(client, "https://evil.example")
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Headers" not in response


def test_no_origin_is_allowed_unless_configured(client, upstreams, settings):
    assert settings.CORS_ALLOWED_ORIGINS == []
    response = preflight(client, STOREFRONT)
    assert "Access-Control-Allow-Origin" not in response


def test_answers_expose_request_id_and_rate_limit_headers(client, upstreams, storefront):
    response = client.get("/api/v1/orders", HTTP_ORIGIN=STOREFRONT, **bearer(access_token()))
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == STOREFRONT
    exposed = {name.strip().lower() for name in response["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"x-request-id", "retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}


def test_refusals_carry_cors_headers_so_the_browser_can_read_them(client, upstreams, storefront):
    response = client.get("/api/v1/orders", HTTP_ORIGIN=STOREFRONT)
    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == STOREFRONT


def test_admin_gets_no_cors_headers(client, storefront):
    response = client.get("/admin/login/", HTTP_ORIGIN=STOREFRONT)
    assert "Access-Control-Allow-Origin" not in response
