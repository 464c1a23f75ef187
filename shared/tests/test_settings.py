"""Settings come from the environment; production refuses unsafe defaults and passes check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from shared.settings import DEV_SECRET_KEY, service_settings

ORDER_SVC = Path(__file__).resolve().parents[2] / "order_svc"
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "a-real-secret-from-the-vault-that-is-long-enough-0123456789-xyz",
    "DJANGO_ALLOWED_HOSTS": "orders.shop.example",
}


def build(monkeypatch, **env):
    for name in ("DJANGO_ENV", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_DEBUG", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return service_settings("order", apps=[], base_dir=str(ORDER_SVC))


def test_development_defaults_are_safe(monkeypatch):
    settings = build(monkeypatch, POSTGRES_URL="postgresql://u:p@db.internal:5433")
    assert settings["DEBUG"] is False
    assert settings["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert settings["DATABASES"]["default"]["NAME"] == "shop_order"
    assert settings["DATABASES"]["default"]["HOST"] == "db.internal"
    assert settings["DATABASES"]["default"]["PORT"] == 5433


def test_database_url_wins_over_the_server_url(monkeypatch):
    settings = build(monkeypatch, DATABASE_URL="postgresql://u:p@h:5432/orders_eu")
    assert settings["DATABASES"]["default"]["NAME"] == "orders_eu"


def test_production_requires_a_secret_key(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        build(monkeypatch, DJANGO_ENV="production", DJANGO_ALLOWED_HOSTS="x.example")


def test_production_refuses_the_development_key(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="real secret"):
        build(monkeypatch, DJANGO_ENV="production", DJANGO_SECRET_KEY=DEV_SECRET_KEY, DJANGO_ALLOWED_HOSTS="x")


def test_production_requires_allowed_hosts(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_ALLOWED_HOSTS"):
        build(monkeypatch, DJANGO_ENV="production", DJANGO_SECRET_KEY=PRODUCTION_ENV["DJANGO_SECRET_KEY"])


def test_bad_boolean_is_a_clear_error(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG must be a boolean"):
        build(monkeypatch, DJANGO_DEBUG="maybe")


def test_check_deploy_is_clean_in_production_mode():
    env = os.environ | PRODUCTION_ENV
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ORDER_SVC,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
