"""Identity across real processes: the user service signs, the gateway and every service verify."""

from __future__ import annotations

import uuid

import httpx
import jwt
import pytest

from shared.testing.tokens import forged_tokens
from tests.shop import bearer

pytestmark = pytest.mark.e2e
PASSWORD = "correct-horse-battery-42"


def register_and_sign_in(stack, email: str | None = None) -> tuple[dict, dict]:
    email = email or f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    gateway = stack.url("gateway")
    registered = httpx.post(f"{gateway}/api/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=10)
    assert registered.status_code == 201, registered.text
    tokens = httpx.post(f"{gateway}/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=10)
    assert tokens.status_code == 200, tokens.text
    return registered.json(), tokens.json()


def staff_tokens(stack) -> dict:
    answer = httpx.post(
        stack.url("gateway", "/api/v1/auth/token"),
        json={"email": "staff@example.com", "password": "demo-pass-123"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_full_auth_flow_through_the_gateway(stack):
    gateway = stack.url("gateway")
    user, tokens = register_and_sign_in(stack)
    assert user["role"] == "customer"

    me = httpx.get(f"{gateway}/api/v1/users/me", headers=bearer(tokens["access"]), timeout=10)
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]

    refreshed = httpx.post(f"{gateway}/api/v1/auth/token/refresh", json={"refresh": tokens["refresh"]}, timeout=10)
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh"] != tokens["refresh"]

    reused = httpx.post(f"{gateway}/api/v1/auth/token/refresh", json={"refresh": tokens["refresh"]}, timeout=10)
    assert reused.status_code == 401
    assert reused.headers["Content-Type"] == "application/problem+json"
    # The reuse revoked the whole family: the current refresh token too.
    family = httpx.post(f"{gateway}/api/v1/auth/token/refresh", json={"refresh": new["refresh"]}, timeout=10)
    assert family.status_code == 401

    new = httpx.post(
        f"{gateway}/api/v1/auth/token", json={"email": user["email"], "password": PASSWORD}, timeout=10
    ).json()
    logout = httpx.post(
        f"{gateway}/api/v1/auth/logout", json={"refresh": new["refresh"]}, headers=bearer(new["access"]), timeout=10
    )
    assert logout.status_code == 204
    after_logout = httpx.post(f"{gateway}/api/v1/auth/token/refresh", json={"refresh": new["refresh"]}, timeout=10)
    assert after_logout.status_code == 401


def test_tokens_carry_the_kid_the_jwks_publishes(stack):
    _, tokens = register_and_sign_in(stack)
    jwks = httpx.get(stack.url("gateway", "/.well-known/jwks.json"), timeout=10).json()
    kid = jwt.get_unverified_header(tokens["access"])["kid"]
    assert kid in {key["kid"] for key in jwks["keys"]}
    assert {key["alg"] for key in jwks["keys"]} == {"RS256"}


@pytest.mark.parametrize("kind", sorted(forged_tokens()))
@pytest.mark.parametrize("where", ["gateway", "user", "product"])
def test_forged_tokens_are_401_at_the_gateway_and_at_each_service_port(stack, kind, where):
    token = forged_tokens()[kind]
    if where == "product":
        answer = httpx.post(
            stack.url("product", "/api/v1/categories"),
            json={"slug": "forged", "name": "Forged"},
            headers=bearer(token),
            timeout=10,
        )
    else:
        answer = httpx.get(stack.url(where, "/api/v1/users/me"), headers=bearer(token), timeout=10)
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_a_deactivated_users_token_is_refused_where_a_live_user_is_needed(stack):
    user, tokens = register_and_sign_in(stack)
    staff = staff_tokens(stack)
    deactivated = httpx.patch(
        stack.url("gateway", f"/api/v1/users/{user['id']}"),
        json={"is_active": False},
        headers=bearer(staff["access"]),
        timeout=10,
    )
    assert deactivated.status_code == 200, deactivated.text
    for base in (stack.url("gateway"), stack.url("user")):
        answer = httpx.get(f"{base}/api/v1/users/me", headers=bearer(tokens["access"]), timeout=10)
        assert answer.status_code == 401
    refresh = httpx.post(
        stack.url("gateway", "/api/v1/auth/token/refresh"), json={"refresh": tokens["refresh"]}, timeout=10
    )
    assert refresh.status_code == 401


def test_customer_on_a_staff_route_is_403_and_anonymous_401(stack):
    _, tokens = register_and_sign_in(stack)
    for base in (stack.url("gateway"), stack.url("user")):
        assert httpx.get(f"{base}/api/v1/users", headers=bearer(tokens["access"]), timeout=10).status_code == 403
        anonymous = httpx.get(f"{base}/api/v1/users", timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_from_the_user_service_is_accepted_by_another_service(stack):
    staff = staff_tokens(stack)
    slug = f"e2e-{uuid.uuid4().hex[:8]}"
    created = httpx.post(
        stack.url("gateway", "/api/v1/categories"),
        json={"slug": slug, "name": "E2E"},
        headers=bearer(staff["access"]),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    direct = httpx.post(
        stack.url("product", "/api/v1/categories"),
        json={"slug": slug + "-d", "name": "E2E"},
        headers=bearer(staff["access"]),
        timeout=10,
    )
    assert direct.status_code == 201
