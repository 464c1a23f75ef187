"""Tests every service runs against itself: ``from shared.testing.probes import *`` in a service's test module.

Each Django project is its own process with its own settings, URLs and
database, so each proves on its own that it answers its probes, serves its
admin and metrics, and turns errors into problem+json.
"""

import pytest
from django.test import Client

__all__ = [
    "test_admin_login_page_is_served",
    "test_healthz_is_200",
    "test_metrics_are_exposed",
    "test_readyz_is_200_with_real_database_and_kafka",
    "test_unknown_path_is_problem_json",
]


def test_healthz_is_200(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_with_real_database_and_kafka(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ready"


@pytest.mark.django_db
def test_metrics_are_exposed(client: Client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests_latency_seconds_by_view_method" in response.content


@pytest.mark.django_db
def test_admin_login_page_is_served(client: Client) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content


@pytest.mark.django_db
def test_unknown_path_is_problem_json(client: Client) -> None:
    response = client.get("/definitely/not/here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert set(response.json()) >= {"type", "title", "status", "detail", "request_id"}
