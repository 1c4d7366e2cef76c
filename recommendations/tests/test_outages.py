"""What the API does while a backing service is down: a real django-redis client pointed at a
port where no Redis listens (connection refused, as when Redis is stopped), never a patched one.

The database-down behaviour needs a database server to stop; `.ci/faults.py` does that against a
PostgreSQL of its own (see docs/SECURITY.md).
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import override_settings

from accounts.tests.test_api import STRONG
from core.exceptions import flatten_errors
from ml import artifacts
from ml.errors import ArtifactError
from recommendations.model_store import model_store

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dead_redis():
    """The default cache is a Redis nobody answers on."""
    caches = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    with override_settings(CACHES=caches):
        yield


def test_signup_and_login_work_unthrottled_while_redis_is_down_with_a_warning(api, dead_redis, caplog):
    with caplog.at_level(logging.WARNING, logger="core.availability"):
        signup = api.post("/auth/signup", {"username": "nora", "password": STRONG}, format="json")
        login = api.post("/auth/login", {"username": "nora", "password": STRONG}, format="json")
        wrong = api.post("/auth/login", {"username": "nora", "password": "wrong-password"}, format="json")
    assert signup.status_code == 201
    assert login.status_code == 200
    assert login.json()["token_type"] == "bearer"
    assert wrong.status_code == 400
    assert "Throttle cache unavailable" in caplog.text


@override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "2/minute"}})
def test_the_throttle_fails_open_only_while_its_cache_is_down(api, dead_redis):
    attempt = {"username": "x", "password": "y"}
    statuses = [api.post("/auth/login", attempt, format="json").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 400]  # no 429 and no 500: the limit is not enforced meanwhile


def test_readiness_names_the_cache_when_it_is_down(api, dead_redis):
    response = api.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert "cache" in body["down"]
    assert body["cache"]["ok"] is False
    assert body["database"] == {"ok": True, "detail": None}
    assert body["code"] == "not_ready"


def test_readiness_names_a_missing_model(api, settings, tmp_path):
    settings.ARTIFACTS_DIR = tmp_path / "nothing-published"
    model_store.reset()
    response = api.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["down"] == ["model"]
    model_store.reset()


def test_readiness_is_200_when_every_part_answers(api, served_model):
    response = api.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["down"] == []


def test_liveness_stays_cheap_it_asks_neither_database_nor_cache(
    api, served_model, dead_redis, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = api.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_nested_validation_errors_are_flattened_to_field_messages():
    assert flatten_errors({"seeds": {0: ["This field may not be blank."], 3: ["Not a string."]}}) == {
        "seeds[0]": ["This field may not be blank."],
        "seeds[3]": ["Not a string."],
    }
    assert flatten_errors({"a": {"b": ["x"]}, "c": [{}, {"d": ["y"]}]}) == {"a.b": ["x"], "c[1].d": ["y"]}
    assert flatten_errors({"limit": ["too big"]}) == {"limit": ["too big"]}


def test_a_blank_seed_in_the_payload_answers_the_documented_error_shape(api):
    response = api.post("/recommendations/cold-start", {"seeds": ["", "ok"]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {"seeds[0]": ["This field may not be blank."]}
    assert body["code"] == "invalid"
    assert body["detail"] == "Invalid input: seeds[0]: This field may not be blank."


def _publish_copy_with(root: Path, source_root: Path, name: str, change) -> None:
    """Publish a copy of the current version under ``name`` with its manifest changed by ``change``."""
    source = artifacts.version_dir(source_root, artifacts.current_version(source_root))
    target = artifacts.version_dir(root, name)
    shutil.copytree(source, target)
    manifest_file = target / artifacts.MANIFEST_FILE
    manifest = json.loads(manifest_file.read_text())
    change(manifest)
    manifest_file.write_text(json.dumps(manifest))
    # set_current verifies a version before the switch and refuses this one...
    with pytest.raises(ArtifactError):
        artifacts.set_current(root, name)
    # ...so switch the link by hand, as an operator's copy or an older publisher on another host could.
    link = root / artifacts.CURRENT_LINK
    link.unlink()
    link.symlink_to(Path(artifacts.VERSIONS_DIR) / name)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.update(counts=None),
        lambda m: m.update(index={"kind": "flat", "dims": "eight", "ntotal": 1}),
        lambda m: m.update(files={"item_factors.npy": None}),
    ],
)
def test_a_malformed_manifest_published_while_serving_keeps_the_previous_model(
    api, settings, tmp_path, trained_root, served_model, seed_ids, change, caplog
):
    root = tmp_path / "artifacts"
    shutil.copytree(trained_root, root, symlinks=True)
    settings.ARTIFACTS_DIR = root
    model_store.reset()
    assert api.get("/health").json()["model_version"] == served_model.version

    _publish_copy_with(root, trained_root, "29990101T000000000Z-badbadba", change)
    model_store._checked_at = 0.0  # the next request looks at `current` now, not a second later
    with caplog.at_level(logging.ERROR, logger="recommendations.model_store"):
        response = api.post("/recommendations/cold-start", {"seeds": seed_ids[:3]}, format="json")
        health = api.get("/health").json()

    assert response.status_code == 200
    assert health["model_version"] == served_model.version
    # The log names the refused version by its real path under the artifacts root.
    assert str(root / "versions" / "29990101T000000000Z-badbadba") in caplog.text
    assert "refused" in caplog.text


def test_an_empty_seed_is_the_same_as_no_seed_and_the_schema_says_so(api, served_model, seed_ids):
    without = api.get("/recommendations/categories?limit=4").json()
    assert api.get("/recommendations/categories?limit=4&seed=").json() == without
    similar = {"song": seed_ids[0], "limit": 4}
    assert post_json(api, "/recommendations/similar", {**similar, "seed": ""}).json() == (
        post_json(api, "/recommendations/similar", similar).json()
    )
    schema = yaml.safe_load(api.get("/api/schema").content)
    (seed,) = [p for p in schema["paths"]["/recommendations/categories"]["get"]["parameters"] if p["name"] == "seed"]
    assert "minLength" not in seed["schema"]


def post_json(api, path, payload):
    return api.post(path, payload, format="json")


def test_public_endpoints_carry_no_padlock_and_every_operation_documents_401_and_503(api):
    schema = yaml.safe_load(api.get("/api/schema").content)
    for path in ("/health", "/health/ready", "/catalog/search", "/search", "/cover"):
        assert "security" not in schema["paths"][path]["get"], path
    # Signed in by bearer token (the mobile app) or by the web page's session cookie, or anonymous.
    assert schema["paths"]["/recommendations/cold-start"]["post"]["security"] == [
        {"jwtAuth": []},
        {"cookieAuth": []},
        {},
    ]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "503" in operation["responses"], (method, path)
            if not path.startswith("/auth/"):
                assert "401" in operation["responses"], (method, path)


@pytest.mark.django_db(transaction=True)
def test_database_down_is_a_503_with_retry_after_and_recovery_needs_no_restart(api, served_model, seed_ids):
    """The real driver connecting to a port where nothing listens (PostgreSQL only: SQLite's test
    database lives in memory and has no server to lose). `.ci/live_checks.py` stops a real server."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a database server to lose: runs against PostgreSQL (the CI's second run)")
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(_closed_port())
    try:
        down = [
            api.get("/catalog/search?q=a"),
            api.post("/auth/login", {"username": "a", "password": "b"}, format="json"),
        ]
        anonymous = api.post("/recommendations/cold-start", {"seeds": seed_ids[:3]}, format="json")
        ready = api.get("/health/ready")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    for response in down:
        assert response.status_code == 503
        assert response.json()["code"] == "database_unavailable"
        assert response["Retry-After"] == "5"
    assert anonymous.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["down"] == ["database"]
    assert api.get("/catalog/search?q=a").status_code == 200
