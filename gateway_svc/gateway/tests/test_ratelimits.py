"""Rate limits at the gateway: token buckets in its real database, per client IP or per user."""

import uuid

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from gateway.ratelimits import bucket_key, configured_limit
from gateway.tests.tokens import bearer
from shared.client_ip import client_ip
from shared.jwt_auth import Principal
from shared.models import RateBucket
from shared.ratelimit import Limit
from shared.testing.tokens import access_token

pytestmark = pytest.mark.django_db

CREDENTIALS = {"email": "customer@example.com", "password": "wrong"}


@pytest.fixture
def tight_limits(settings):
    settings.GATEWAY_RATE_LIMITS = {"login": "3/60", "default": "5/60"}


def sign_in(client, address="10.0.0.1", **extra):
    return client.post(
        "/api/v1/auth/token", data=CREDENTIALS, content_type="application/json", REMOTE_ADDR=address, **extra
    )


def test_fourth_login_from_one_ip_is_429_while_another_ip_passes(client, upstreams, tight_limits):
    answers = [sign_in(client) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [answer["X-RateLimit-Remaining"] for answer in answers] == ["2", "1", "0"]

    refused = sign_in(client)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert int(refused["Retry-After"]) >= 1
    assert refused["X-RateLimit-Limit"] == "3"
    assert refused["X-RateLimit-Remaining"] == "0"
    assert int(refused["X-RateLimit-Reset"]) >= int(refused["Retry-After"])
    assert len(upstreams["user"].requests) == 3  # the fourth was not forwarded

    other = sign_in(client, address="10.0.0.2")
    assert other.status_code == 200
    assert other["X-RateLimit-Remaining"] == "2"
    assert len(upstreams["user"].requests) == 4


def test_login_bucket_is_keyed_by_ip_in_the_database(client, upstreams, tight_limits):
    sign_in(client, address="192.0.2.7")
    bucket = RateBucket.objects.get(key="gw:login:ip:192.0.2.7")
    assert bucket.tokens == pytest.approx(2, abs=0.01)


def test_register_and_refresh_share_the_login_limit(client, upstreams, tight_limits):
    for path in ("/api/v1/auth/register", "/api/v1/auth/token/refresh", "/api/v1/auth/token"):
        response = client.post(path, data={}, content_type="application/json", REMOTE_ADDR="10.0.0.9")
        assert response.status_code == 200
    assert sign_in(client, address="10.0.0.9").status_code == 429


def test_forwarded_calls_are_limited_per_user_not_per_ip(client, upstreams, tight_limits):
    alice, bob = access_token(), access_token()
    for _ in range(5):
        assert client.get("/api/v1/orders", **bearer(alice)).status_code == 200
    assert client.get("/api/v1/orders", **bearer(alice)).status_code == 429
    response = client.get("/api/v1/orders", **bearer(bob))
    assert response.status_code == 200
    assert response["X-RateLimit-Limit"] == "5"
    assert response["X-RateLimit-Remaining"] == "4"


def test_anonymous_calls_are_limited_per_ip(client, upstreams, tight_limits):
    for _ in range(5):
        assert client.get("/api/v1/products", REMOTE_ADDR="10.1.1.1").status_code == 200
    refused = client.get("/api/v1/products", REMOTE_ADDR="10.1.1.1")
    assert refused.status_code == 429
    assert len(upstreams["product"].requests) == 5
    assert client.get("/api/v1/products", REMOTE_ADDR="10.1.1.2").status_code == 200


def test_a_refusal_after_the_limit_check_still_carries_the_limit_headers(client, upstreams, tight_limits):
    response = client.post("/api/v1/orders", data=b"{", content_type="application/json", **bearer(access_token()))
    assert response.status_code == 400
    assert response["X-RateLimit-Remaining"] == "4"


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/admin/login/", "/api/docs"])
def test_gateway_own_endpoints_are_not_limited(client, upstreams, tight_limits, path):
    for _ in range(6):
        response = client.get(path)
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response
    assert not RateBucket.objects.exists()


def test_without_trusted_proxies_x_forwarded_for_is_ignored(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = rf.get("/api/v1/products", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(request) == "10.0.0.1"


@pytest.mark.parametrize(
    ("hops", "forwarded_for", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "1.1.1.1, 203.0.113.9", "203.0.113.9"),  # the client made up 1.1.1.1
        (2, "1.1.1.1, 203.0.113.9, 10.0.0.5", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.1"),  # fewer hops than proxies: not through them, use the peer
        (1, "not-an-ip", "10.0.0.1"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_trusted_proxies_take_the_client_from_the_right_of_x_forwarded_for(rf, settings, hops, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = hops
    request = rf.get("/api/v1/products", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(client, upstreams, tight_limits, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(3):
        assert sign_in(client, address="10.0.0.254", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    assert sign_in(client, address="10.0.0.254", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
    assert sign_in(client, address="10.0.0.254", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200


def test_bucket_keys_name_the_class_and_the_caller(rf):
    user_id = uuid.uuid4()
    principal = Principal(id=user_id, role="customer", token_id="t")
    login = rf.post("/api/v1/auth/token", REMOTE_ADDR="1.2.3.4")
    assert bucket_key(login, principal) == "gw:login:ip:1.2.3.4"
    orders = rf.get("/api/v1/orders", REMOTE_ADDR="1.2.3.4")
    assert bucket_key(orders, principal) == f"gw:default:user:{user_id}"
    assert bucket_key(orders, None) == "gw:default:ip:1.2.3.4"


def test_limits_may_be_set_as_text_or_as_limits(settings):
    settings.GATEWAY_RATE_LIMITS = {"login": "3/60", "default": Limit(capacity=7, period_seconds=1)}
    assert configured_limit("login") == Limit(capacity=3, period_seconds=60)
    assert configured_limit("default") == Limit(capacity=7, period_seconds=1)


def test_a_mistyped_limit_stops_the_gateway_at_start_up(settings):
    settings.GATEWAY_RATE_LIMITS = {"login": "twenty a minute", "default": "600/60"}
    with pytest.raises(ImproperlyConfigured, match="RATE_LIMIT_LOGIN"):
        apps.get_app_config("gateway").ready()
