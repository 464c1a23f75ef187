import pytest

from shared.topology import DOMAIN_SERVICES

pytestmark = pytest.mark.django_db


def test_ready_when_every_upstream_is_ready(client, upstreams):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {spec.name: "ok" for spec in DOMAIN_SERVICES}
    assert all(upstream.requests[0]["path"] == "/readyz" for upstream in upstreams.values())


def test_not_ready_names_the_failing_upstreams(client, upstreams):
    upstreams["order"].status = 503
    upstreams["user"].hang_up = True
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == "Not ready: order, user"
    assert body["checks"]["product"] == "ok"
    assert body["checks"]["order"] == "not ready (503)"
