"""The gateway applies the access table before forwarding: who may call what, by their access token."""

import logging
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from gateway.auth import check_access
from gateway.refusals import Refused
from gateway.tests import tokens
from gateway.tests.conftest import json_body
from gateway.tests.tokens import bearer
from shared.access import NO_ROUTE
from shared.jwt_auth import load_public_key, public_jwk
from shared.revocations import numeric_date, revocation_record
from shared.testing.tokens import access_token

pytestmark = pytest.mark.django_db


def nothing_forwarded(upstreams) -> bool:
    return all(not upstream.requests for upstream in upstreams.values())


def test_anonymous_call_to_a_user_route_is_401_and_not_forwarded(client, upstreams):
    response = client.get("/api/v1/orders")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["detail"] == "Sign in: this needs a bearer access token."
    assert nothing_forwarded(upstreams)


def test_other_authorization_scheme_is_401_without_invalid_token(client, upstreams):
    response = client.get("/api/v1/users/me", HTTP_AUTHORIZATION="Basic Y3VzdG9tZXI6cGFzcw==")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert nothing_forwarded(upstreams)


def test_customer_may_call_a_user_route(client, upstreams):
    token = access_token(role="customer")
    response = client.get("/api/v1/users/me", **bearer(token))
    assert response.status_code == 200
    (seen,) = upstreams["user"].requests
    assert seen["headers"]["Authorization"] == f"Bearer {token}"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/products"),
        ("delete", "/api/v1/products/5d0c"),
        ("get", "/api/v1/inventory"),
        ("post", "/api/v1/orders/5d0c/status"),
        ("get", "/api/v1/users"),
        ("get", "/api/v1/payments/5d0c"),
    ],
)
def test_customer_on_a_staff_route_is_403_and_not_forwarded(client, upstreams, method, path):
    response = getattr(client, method)(path, **bearer(access_token(role="customer")))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "Only staff may do this."
    assert "WWW-Authenticate" not in response
    assert nothing_forwarded(upstreams)


def test_staff_may_call_a_staff_route(client, upstreams):
    upstreams["product"].status = 201
    response = client.post(
        "/api/v1/products",
        data={"sku": "SKU-1", "name": "Mug", "price": "9.50"},
        content_type="application/json",
        **bearer(access_token(role="staff")),
    )
    assert response.status_code == 201
    (seen,) = upstreams["product"].requests
    assert seen["method"] == "POST"
    assert seen["path"] == "/api/v1/products"


def test_public_route_is_forwarded_without_a_token(client, upstreams):
    json_body(upstreams["product"], {"count": 0, "results": []})
    response = client.get("/api/v1/products?search=mug")
    assert response.status_code == 200
    assert response.json() == {"count": 0, "results": []}
    (seen,) = upstreams["product"].requests
    assert "Authorization" not in seen["headers"]


def test_public_route_forwards_even_an_invalid_token_for_the_service_to_judge(client, upstreams):
    response = client.get("/api/v1/products", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 200
    (seen,) = upstreams["product"].requests
    assert seen["headers"]["Authorization"] == "Bearer not-a-token"


def test_jwks_url_supplies_the_verification_keys(client, upstreams, settings):
    public_key = load_public_key(settings.JWT_PUBLIC_KEY_PATH)
    json_body(upstreams["user"], {"keys": [public_jwk(public_key)]})
    settings.JWT_JWKS_URL = f"{upstreams['user'].url}/.well-known/jwks.json"
    settings.JWT_PUBLIC_KEY_PATH = "/nonexistent/jwt_public.pem"
    response = client.get("/api/v1/orders", **bearer(access_token()))
    assert response.status_code == 200
    assert [seen["path"] for seen in upstreams["user"].requests] == ["/.well-known/jwks.json"]
    assert len(upstreams["order"].requests) == 1


FORGERIES = {
    "alg none": lambda: tokens.unsigned(),
    "HS256 with the public key as secret": lambda: tokens.hs256_with_public_key(),
    "another RSA key": lambda: tokens.signed_by_another_key(),
    "expired": lambda: access_token(exp=int(time.time()) - 60, iat=int(time.time()) - 400),
    "wrong audience": lambda: access_token(aud="someone-else"),
    "wrong issuer": lambda: access_token(iss="https://evil.example"),
    "role changed without re-signing": lambda: tokens.tampered(access_token(role="customer"), role="staff"),
    "refresh token": lambda: access_token(token_type="refresh"),
    "no expiry": lambda: access_token(exp=None),
    "subject not a user id": lambda: access_token(sub="admin"),
    "not a JWT": lambda: "abc.def",
}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_or_unusable_tokens_are_401_at_the_gateway(client, upstreams, forgery):
    response = client.get("/api/v1/orders", **bearer(forgery()))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert response.json()["detail"] == "The access token is invalid or expired."
    assert nothing_forwarded(upstreams)


def test_tampered_staff_claim_does_not_open_a_staff_route(client, upstreams):
    forged = tokens.tampered(access_token(role="customer"), role="staff")
    response = client.get("/api/v1/inventory", **bearer(forged))
    assert response.status_code == 401
    assert nothing_forwarded(upstreams)


def test_refusals_are_logged_without_the_token(client, upstreams, caplog):
    token = access_token(aud="someone-else", sub=str(uuid.uuid4()))
    with caplog.at_level(logging.INFO, logger="gateway.auth"):
        client.get("/api/v1/orders", **bearer(token))
    (record,) = [record for record in caplog.records if record.name == "gateway.auth"]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("refused GET /api/v1/orders: ")
    assert token not in record.getMessage()
    assert token.split(".")[2] not in record.getMessage()


def test_a_revoked_token_is_401_and_not_forwarded_and_one_signed_after_the_revocation_passes(client, upstreams):
    user_id, revoked_at = uuid.uuid4(), timezone.now()
    revocation_record(
        user_id=user_id, session_id=None, not_before=revoked_at, expires_at=revoked_at + timedelta(minutes=5)
    )
    before = access_token(subject=user_id, iat=numeric_date(revoked_at) - 0.000001)
    after = access_token(subject=user_id, iat=numeric_date(revoked_at) + 0.000001)

    refused = client.get("/api/v1/orders", **bearer(before))
    assert refused.status_code == 401
    assert refused["Content-Type"] == "application/problem+json"
    assert refused["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert nothing_forwarded(upstreams)

    assert client.get("/api/v1/orders", **bearer(after)).status_code == 200


def test_a_method_no_route_opens_is_refused_even_to_staff(rf):
    """Behind the 405 middleware, the access check still fails closed: no rule is never "any user"."""
    request = rf.put("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {access_token(role='staff')}")
    with pytest.raises(Refused) as refused:
        check_access(request)
    assert refused.value.status == 403
    assert refused.value.detail == NO_ROUTE
