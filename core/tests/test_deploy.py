"""Production settings: `check --deploy` is clean under the documented environment; the admin
login is throttled."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings

PRODUCTION_ENV = settings.BASE_DIR / "docs" / "production.env"


def _documented_environment() -> dict[str, str]:
    env = {}
    for line in PRODUCTION_ENV.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    return env


def _check_deploy(extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}}
    env.update(extra, DJANGO_SETTINGS_MODULE="spotify_redux.settings", MODEL_PRELOAD="0")
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_under_the_documented_production_environment():
    documented = _documented_environment()
    assert documented["DEBUG"] == "0"
    done = _check_deploy({**documented, "API_SECRET_KEY": "k" * 20 + "-production-test-only-secret-value"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_check_deploy_names_what_is_missing_without_it():
    done = _check_deploy({"DEBUG": "0", "API_SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "api.example.com"})
    assert done.returncode != 0
    assert "security.W004" in done.stderr + done.stdout  # HSTS
    assert "security.W008" in done.stderr + done.stdout  # SSL redirect


@pytest.mark.django_db
@override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "3/minute"}})
def test_admin_login_attempts_are_throttled_like_the_api_login(client):
    assert client.get("/admin/login/").status_code == 200  # the form itself is not an attempt
    statuses = [
        client.post("/admin/login/", {"username": "admin", "password": f"guess-{n}"}).status_code for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]  # 200: the form again, with "please enter the correct..."
    response = client.post("/admin/login/", {"username": "admin", "password": "guess"})
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
