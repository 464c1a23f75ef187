"""Sign-in throttling, admin logins and who may read /metrics, across real processes.

Loopback is 127.0.0.0/8, so binding the client socket to 127.0.0.2 or 127.0.0.3 gives an
attacker and an owner addresses of their own without leaving the machine. The stack serves
metrics to 127.0.0.1 only (``METRICS_ALLOWED_NETWORKS`` in tests/conftest.py), so 127.0.0.2 is
"another network".
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.test_auth_flow import PASSWORD

pytestmark = pytest.mark.e2e
THROTTLED = "Too many failed sign-ins"


def client_from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def registered_email(stack) -> str:
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    answer = httpx.post(
        stack.url("gateway", "/api/v1/auth/register"), json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert answer.status_code == 201, answer.text
    return email


def test_an_attackers_address_is_blocked_while_the_owner_signs_in_from_another(stack):
    email = registered_email(stack)
    token_url = stack.url("gateway", "/api/v1/auth/token")
    with client_from("127.0.0.2") as attacker, client_from("127.0.0.3") as owner:
        guesses = [attacker.post(token_url, json={"email": email, "password": f"guess-{n}"}) for n in range(8)]
        blocked = attacker.post(token_url, json={"email": email, "password": PASSWORD})

        signed_in = owner.post(token_url, json={"email": email, "password": PASSWORD})

    # LOGIN_FAILURES_PER_EMAIL_AND_CLIENT: 5 guesses, then 429 (the hourly bound is tested in user_svc).
    assert [answer.status_code for answer in guesses] == [401] * 5 + [429] * 3
    assert blocked.status_code == 429
    assert blocked.headers["Content-Type"] == "application/problem+json"
    assert int(blocked.headers["Retry-After"]) >= 1
    assert signed_in.status_code == 200, signed_in.text


def admin_login(session: httpx.Client, base: str, username: str, password: str) -> httpx.Response:
    page = session.get(f"{base}/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    return session.post(
        f"{base}/admin/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1), "next": "/admin/"},
        headers={"Referer": f"{base}/admin/login/"},
    )


@pytest.mark.parametrize("service", ["product", "gateway"])
def test_25_wrong_admin_logins_at_a_service_are_refused_after_the_limit(stack, service):
    base = stack.url(service)
    email = f"admin-guess-{uuid.uuid4().hex[:8]}@example.com"
    with client_from("127.0.0.1") as session:
        answers = [admin_login(session, base, email, f"guess-{n}") for n in range(25)]

    assert all(answer.status_code == 200 for answer in answers)  # the form again, never signed in
    throttled = [THROTTLED in answer.text for answer in answers]
    assert throttled == [False] * 5 + [True] * 20


@pytest.mark.parametrize("service", ["gateway", "order"])
def test_web_metrics_are_refused_outside_the_allowed_networks(stack, service):
    with client_from("127.0.0.2") as outsider, client_from("127.0.0.1") as prometheus:
        refused = outsider.get(stack.url(service, "/metrics"))
        served = prometheus.get(stack.url(service, "/metrics"))

    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "shop_" not in refused.text
    assert served.status_code == 200
    assert "shop_" in served.text


@pytest.mark.parametrize("kind", ["grpc", "consumer", "relay"])
def test_process_metrics_servers_are_refused_outside_the_allowed_networks(stack, kind):
    process = next(p for p in stack.processes if p.kind == kind and p.metrics_port)
    url = f"http://127.0.0.1:{process.metrics_port}/metrics"
    with client_from("127.0.0.2") as outsider, client_from("127.0.0.1") as prometheus:
        refused = outsider.get(url)
        served = prometheus.get(url)

    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert served.status_code == 200
