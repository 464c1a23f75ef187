"""Access token verification and the route access table, as every service applies them."""

import threading
import time
import uuid

import jwt
import pytest
from django.db import connection
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from shared.access import NO_ROUTE, Access, access_for, route
from shared.jwt_auth import KEYS, InvalidToken, verify_access_token
from shared.models import RateBucket
from shared.ratelimit import Limit, peek, take
from shared.testing.tokens import access_token, claims, forged_tokens, private_key_pem


@pytest.mark.django_db  # a valid signature is not enough: revocations are read
def test_a_valid_token_gives_its_principal():
    user_id = uuid.uuid4()
    principal = verify_access_token(access_token(user_id, "staff"))
    assert principal.id == user_id
    assert principal.role == "staff"
    assert principal.is_staff_role


@pytest.mark.parametrize("kind", sorted(forged_tokens()))
def test_forged_tokens_are_refused(kind):
    with pytest.raises(InvalidToken):
        verify_access_token(forged_tokens()[kind])


def test_a_token_naming_an_unknown_key_is_refused():
    token = jwt.encode(claims(), private_key_pem(), algorithm="RS256", headers={"kid": "no-such-key"})
    with pytest.raises(InvalidToken, match="unknown signing key"):
        verify_access_token(token)


@pytest.mark.django_db  # a valid signature is not enough: revocations are read
def test_previous_key_is_accepted_during_a_rotation(settings, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new_public = tmp_path / "new.pem"
    new_public.write_bytes(
        new_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    old_token = access_token(role="customer")
    settings.JWT_PREVIOUS_PUBLIC_KEY_PATH = settings.JWT_PUBLIC_KEY_PATH
    settings.JWT_PUBLIC_KEY_PATH = str(new_public)
    KEYS.clear()
    try:
        assert verify_access_token(old_token).role == "customer"
        settings.JWT_PREVIOUS_PUBLIC_KEY_PATH = ""
        KEYS.clear()
        with pytest.raises(InvalidToken):
            verify_access_token(old_token)
    finally:
        KEYS.clear()


@pytest.mark.django_db  # revocations are read
def test_a_token_seen_before_is_not_verified_again(monkeypatch):
    token = access_token(uuid.uuid4())
    verify_access_token(token)
    decoded = []
    original = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *args, **kwargs: decoded.append(1) or original(*args, **kwargs))

    first, second = verify_access_token(token), verify_access_token(token)

    assert decoded == []
    assert first == second
    assert first.claims is not second.claims  # each caller its own copy of the claims
    verify_access_token(access_token(uuid.uuid4()))  # another token is verified
    assert decoded == [1]


@pytest.mark.django_db  # revocations are read
def test_a_kept_token_is_refused_once_it_expires(settings):
    now = int(time.time())
    token = access_token(uuid.uuid4(), iat=now - 100, exp=now - 10)
    settings.JWT_LEEWAY_SECONDS = 60
    assert verify_access_token(token)  # within the leeway: verified, and kept

    settings.JWT_LEEWAY_SECONDS = 0
    with pytest.raises(InvalidToken, match="Signature has expired"):
        verify_access_token(token)


@pytest.mark.django_db  # revocations are read
def test_a_kept_token_is_checked_against_the_current_audience(settings):
    token = access_token(uuid.uuid4())
    verify_access_token(token)

    settings.JWT_AUDIENCE = "another-shop"
    with pytest.raises(InvalidToken, match="Audience doesn't match"):
        verify_access_token(token)


@pytest.mark.parametrize(
    ("path", "method", "level"),
    [
        ("/api/v1/auth/token", "POST", Access.PUBLIC),
        ("/api/v1/auth/logout", "POST", Access.USER),
        ("/api/v1/users/me", "PATCH", Access.USER),
        ("/api/v1/users/me/password", "POST", Access.USER),
        ("/api/v1/users", "GET", Access.STAFF),
        ("/api/v1/users/3f1c", "PATCH", Access.STAFF),
        ("/.well-known/jwks.json", "GET", Access.PUBLIC),
        ("/api/v1/products", "GET", Access.PUBLIC),
        ("/api/v1/products/3f1c", "DELETE", Access.STAFF),
        ("/api/v1/categories", "POST", Access.STAFF),
        ("/api/v1/inventory", "GET", Access.STAFF),
        ("/api/v1/orders", "POST", Access.USER),
        ("/api/v1/orders/3f1c/cancel", "POST", Access.USER),
        ("/api/v1/orders/3f1c/status", "POST", Access.STAFF),
        ("/api/v1/something-new", "GET", Access.NOBODY),  # no route names it: closed, never "any user"
        ("/api/v1/orders", "PUT", Access.NOBODY),  # a method its route does not name
    ],
)
def test_access_table(path, method, level):
    assert access_for(path, method) is level


class Echo(APIView):
    """A view with the service defaults (JWT authentication, the access table), as every service's API has."""

    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user.id), "role": request.user.role})


def call(path: str, token: str | None = None) -> Response:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = Echo.as_view()(APIRequestFactory().get(path, **headers))
    response.render()
    return response


@pytest.mark.parametrize("kind", sorted(forged_tokens()))
def test_services_refuse_forged_tokens_on_protected_routes(kind):
    response = call("/api/v1/orders", forged_tokens()[kind])
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db  # a valid signature is not enough: revocations are read
def test_services_accept_a_valid_token():
    user_id = uuid.uuid4()
    response = call("/api/v1/orders", access_token(user_id, "customer"))
    assert response.status_code == 200
    assert response.data == {"user": str(user_id), "role": "customer"}


def test_a_route_without_an_access_rule_stops_the_process_at_start_up():
    with pytest.raises(ValueError, match="names no method and who may call it"):
        route("payment", r"^/api/v1/payments/?$")
    with pytest.raises(ValueError, match="unknown methods"):
        route("payment", r"^/api/v1/payments/?$", fetch=Access.USER)


@pytest.mark.django_db  # a valid signature is not enough: revocations are read
@pytest.mark.parametrize("role", ["customer", "staff"])
def test_a_view_whose_path_no_route_names_is_refused_even_to_staff(role):
    response = call("/api/v1/payments", access_token(role=role))
    assert response.status_code == 403
    assert response.data["detail"] == NO_ROUTE
    assert call("/api/v1/payments").status_code == 403  # not a 401 inviting a sign-in


@pytest.mark.django_db  # a valid signature is not enough: revocations are read
def test_anonymous_is_401_and_a_customer_on_a_staff_route_403():
    assert call("/api/v1/orders").status_code == 401
    assert call("/api/v1/inventory", access_token(role="customer")).status_code == 403
    assert call("/api/v1/inventory", access_token(role="staff")).status_code == 200


# Token buckets -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bucket_allows_capacity_then_refuses_with_retry_after():
    limit = Limit.parse("3/60")
    decisions = [take("t:a", limit) for _ in range(4)]
    assert [decision.allowed for decision in decisions] == [True, True, True, False]
    assert [decision.remaining for decision in decisions] == [2, 1, 0, 0]
    assert decisions[-1].retry_after == 20  # one token every 20 s
    assert take("t:other", limit).allowed  # buckets are per key


@pytest.mark.django_db
def test_a_refused_request_spends_nothing():
    limit = Limit.parse("1/3600")
    assert take("t:b", limit).allowed
    for _ in range(5):
        assert not take("t:b", limit).allowed
    assert RateBucket.objects.get(key="t:b").tokens < 1
    assert RateBucket.objects.get(key="t:b").tokens > -0.01


@pytest.mark.django_db
def test_peek_spends_nothing():
    limit = Limit.parse("2/60")
    assert peek("t:c", limit).allowed
    take("t:c", limit)
    take("t:c", limit)
    assert not peek("t:c", limit).allowed
    assert peek("t:c", limit).retry_after == 30


@pytest.mark.django_db(transaction=True)
def test_bucket_is_exact_under_concurrency():
    limit = Limit.parse("10/3600")
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(5):
                decision = take("t:concurrent", limit)
                with lock:
                    results.append(decision.allowed)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 40
    assert results.count(True) == 10


@pytest.mark.parametrize("text", ["0/60", "5/0", "x/60", "5/-1"])
def test_bad_limits_are_refused(text):
    with pytest.raises(ValueError):
        Limit.parse(text)
