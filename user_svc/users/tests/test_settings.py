"""Start-up refuses a configuration that could only fail later."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE_DIR = Path(__file__).resolve().parents[2]


def start(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=SERVICE_DIR,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "user_svc.settings", "PYTHONPATH": str(SERVICE_DIR.parent)} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_missing_signing_key_stops_start_up_with_advice(tmp_path):
    result = start(JWT_PRIVATE_KEY_PATH=str(tmp_path / "absent.pem"))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "make up" in result.stderr
    assert "JWT_PRIVATE_KEY_PATH" in result.stderr


@pytest.mark.parametrize(
    "variable", ["LOGIN_FAILURES_PER_EMAIL_AND_CLIENT", "LOGIN_FAILURES_PER_EMAIL", "LOGIN_FAILURES_PER_CLIENT"]
)
def test_a_malformed_login_limit_stops_start_up(variable):
    result = start(**{variable: "five per minute"})

    assert result.returncode != 0
    assert variable.removesuffix("_EMAIL").removesuffix("_CLIENT") in result.stderr


def test_the_default_configuration_starts():
    assert start().returncode == 0
