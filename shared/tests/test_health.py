"""/healthz and /readyz against the real database and broker."""

import pytest

from shared import kafka


@pytest.fixture
def fresh_admin_client():
    """readyz caches one admin client per process; tests that change the broker address need a new one."""
    kafka._admin = None
    yield
    kafka._admin = None


def test_healthz_answers_without_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_when_database_and_kafka_answer(client, fresh_admin_client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "kafka": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_problem_when_kafka_is_unreachable(client, settings, fresh_admin_client):
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["kafka"].startswith("Kafka at 127.0.0.1:1 did not answer")


@pytest.mark.django_db
def test_metrics_are_exposed_for_prometheus(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests_total_by_method_total" in response.content
