"""What this service signs, what it accepts at /api/v1/users/me, and the keys it publishes."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings

from shared.jwt_auth import key_id, load_public_key, public_jwk, verify_access_token
from shared.testing.clients import bearer_client
from users.models import User
from users.tokens import token_pair_for

pytestmark = pytest.mark.django_db


def private_pem() -> bytes:
    return Path(django_settings.JWT_PRIVATE_KEY_PATH).read_bytes()


def public_pem() -> bytes:
    return Path(django_settings.JWT_PUBLIC_KEY_PATH).read_bytes()


def current_kid() -> str:
    return key_id(load_public_key(django_settings.JWT_PUBLIC_KEY_PATH))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claims_for(user, **overrides):
    now = int(time.time())
    claims = {
        "sub": str(user.id),
        "role": str(user.role),
        "iss": django_settings.JWT_ISSUER,
        "aud": django_settings.JWT_AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "token_type": "access",
    }
    claims.update(overrides)
    return claims


def rs256(claims, key=None, kid=None) -> str:
    return jwt.encode(claims, key or private_pem(), algorithm="RS256", headers={"kid": kid or current_kid()})


def me(token: str):
    return bearer_client(token).get("/api/v1/users/me")


# What is signed


def test_access_token_carries_kid_and_every_claim_the_contract_names(customer):
    access = token_pair_for(customer).access

    header = jwt.get_unverified_header(access)
    claims = jwt.decode(access, options={"verify_signature": False})
    assert (header["alg"], header["kid"]) == ("RS256", current_kid())
    assert claims["sub"] == str(customer.id)
    assert claims["role"] == "customer"
    assert claims["token_type"] == "access"
    assert (claims["iss"], claims["aud"]) == ("shop-user-svc", "shop")
    assert claims["exp"] - claims["iat"] == pytest.approx(5 * 60, abs=1)
    assert isinstance(claims["iat"], float), "to the microsecond, as revocations compare it"
    assert {"jti", "iat", "exp"} <= set(claims)


def test_access_token_verifies_with_the_shared_verification(staff):
    principal = verify_access_token(token_pair_for(staff).access)

    assert (principal.id, principal.role) == (staff.id, "staff")


def test_refresh_token_lives_seven_days_and_has_the_kid(customer):
    refresh = token_pair_for(customer).refresh

    claims = jwt.decode(refresh, options={"verify_signature": False})
    assert claims["token_type"] == "refresh"
    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600
    assert jwt.get_unverified_header(refresh)["kid"] == current_kid()


# What is accepted


def test_a_valid_access_token_reaches_me(customer):
    response = me(token_pair_for(customer).access)

    assert response.status_code == 200
    assert response.json()["id"] == str(customer.id)


def hs256_with_public_key(claims) -> str:
    """HS256 keyed with the public key PEM (PyJWT refuses PEM secrets, so sign by hand)."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": current_kid()}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(public_pem(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def role_tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "staff"
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


FORGERIES = {
    "alg_none": lambda user: jwt.encode(claims_for(user), key=None, algorithm="none"),
    "hs256_signed_with_the_public_key": lambda user: hs256_with_public_key(claims_for(user)),
    "signed_by_another_rsa_key": lambda user: rs256(
        claims_for(user), key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ),
    "unknown_kid": lambda user: rs256(claims_for(user), kid="someone-elses-key"),
    "expired": lambda user: rs256(claims_for(user, iat=int(time.time()) - 900, exp=int(time.time()) - 600)),
    "not_yet_valid": lambda user: rs256(claims_for(user, nbf=int(time.time()) + 3600)),
    "wrong_audience": lambda user: rs256(claims_for(user, aud="another-shop")),
    "wrong_issuer": lambda user: rs256(claims_for(user, iss="https://evil.example")),
    "without_jti": lambda user: rs256({k: v for k, v in claims_for(user).items() if k != "jti"}),
    "role_changed_to_staff_without_resigning": lambda user: role_tampered(token_pair_for(user).access),
    "refresh_token_as_access_token": lambda user: token_pair_for(user).refresh,
    "garbage": lambda user: "not.a.token",
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_token_is_401_with_www_authenticate(customer, forgery):
    response = me(FORGERIES[forgery](customer))

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Type"] == "application/problem+json"


def test_the_token_of_a_deactivated_user_is_401(customer):
    access = token_pair_for(customer).access
    User.objects.filter(pk=customer.pk).update(is_active=False)

    assert me(access).status_code == 401


def test_the_token_of_a_deleted_user_is_401(customer):
    access = token_pair_for(customer).access
    User.objects.filter(pk=customer.pk).delete()

    assert me(access).status_code == 401


def test_a_token_with_a_stale_staff_role_does_not_pass_staff_routes(staff):
    client = bearer_client(token_pair_for(staff).access)
    User.objects.filter(pk=staff.pk).update(role="customer")

    assert client.get("/api/v1/users").status_code == 403


def test_a_non_bearer_authorization_header_is_401(api):
    response = api.get("/api/v1/users/me", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")

    assert response.status_code == 401


# What is published


def test_jwks_publishes_the_current_key_publicly(api):
    response = api.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.json() == {"keys": [public_jwk(load_public_key(django_settings.JWT_PUBLIC_KEY_PATH))]}
    assert response.json()["keys"][0]["kid"] == current_kid()


def test_jwks_adds_the_previous_key_during_a_rotation(api, settings, tmp_path):
    previous = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    path = tmp_path / "previous.pem"
    path.write_bytes(previous.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    settings.JWT_PREVIOUS_PUBLIC_KEY_PATH = str(path)

    keys = api.get("/.well-known/jwks.json").json()["keys"]

    assert [key["kid"] for key in keys] == [current_kid(), key_id(previous)]
    assert {key["alg"] for key in keys} == {"RS256"}


def test_the_openapi_schema_generates(api):
    response = api.get("/api/schema?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/auth/register", "/api/v1/users/me", "/api/v1/users/{user_id}", "/.well-known/jwks.json"} <= set(
        paths
    )
