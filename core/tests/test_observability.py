"""/metrics (Prometheus text, protected) and the one structured log line per request."""

from __future__ import annotations

import json
import logging

import pytest
from django.conf import settings
from django.test import override_settings
from prometheus_client import REGISTRY

from catalog.covers import cached_cover_urls
from core.log_format import JsonFormatter

pytestmark = pytest.mark.django_db

STRONG = "correct-horse-battery"


def sample(name: str, labels: dict) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_exposes_request_latency_by_route_and_status(api):
    before = sample(
        "spotify_http_request_duration_seconds_count", {"route": "catalog/search", "method": "GET", "status": "400"}
    )
    api.get("/catalog/search")  # no q: 400
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "# TYPE spotify_http_request_duration_seconds histogram" in text
    assert (
        'spotify_http_request_duration_seconds_bucket{le="0.002",method="GET",route="catalog/search",status="400"}'
        in text
    )
    after = sample(
        "spotify_http_request_duration_seconds_count", {"route": "catalog/search", "method": "GET", "status": "400"}
    )
    assert after == before + 1


def test_unknown_paths_share_one_route_label(api):
    before = sample(
        "spotify_http_request_duration_seconds_count", {"route": "<unmatched>", "method": "GET", "status": "404"}
    )
    api.get("/no/such/path/123")
    api.get("/no/such/path/456")
    after = sample(
        "spotify_http_request_duration_seconds_count", {"route": "<unmatched>", "method": "GET", "status": "404"}
    )
    assert after == before + 2


def test_metrics_refuses_other_networks_and_ignores_forwarded_headers(api):
    response = api.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert api.get("/metrics", REMOTE_ADDR="::1").status_code == 200


@override_settings(METRICS_ALLOWED_NETWORKS=["10.0.0.0/8"])
def test_metrics_networks_are_configurable(api):
    assert api.get("/metrics", REMOTE_ADDR="10.4.5.6").status_code == 200
    assert api.get("/metrics").status_code == 403  # loopback no longer listed


@override_settings(METRICS_TOKEN="s3cret-scrape-token")
def test_with_a_token_only_the_token_opens_metrics(api):
    assert api.get("/metrics").status_code == 403  # even from loopback
    assert api.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    response = api.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200


def test_metrics_is_read_only(api):
    response = api.post("/metrics")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "2/minute"}})
def test_throttled_requests_are_counted(api):
    before = sample("spotify_throttled_requests_total", {"route": "auth/login"})
    for _ in range(4):
        api.post("/auth/login", {"username": "ivy", "password": STRONG}, format="json")
    assert sample("spotify_throttled_requests_total", {"route": "auth/login"}) == before + 2


def test_cover_cache_hits_and_misses_are_counted(settings):
    settings.COVERS_ENABLED = False  # read the cache only
    from catalog.covers.store import cache_store, cover_cache_key

    cache_store(cover_cache_key("Known", "Song"), "https://img.example/known.jpg", complete=True)
    hits, misses = (
        sample("spotify_cover_cache_lookups_total", {"result": "hit"}),
        sample("spotify_cover_cache_lookups_total", {"result": "miss"}),
    )
    found = cached_cover_urls([("Known", "Song"), ("Never", "Seen")])
    assert found[("Known", "Song")] == "https://img.example/known.jpg"
    assert sample("spotify_cover_cache_lookups_total", {"result": "hit"}) == hits + 1
    assert sample("spotify_cover_cache_lookups_total", {"result": "miss"}) == misses + 1


def test_one_log_line_per_request_with_route_status_duration_and_user(api, caplog):
    signup = api.post("/auth/signup", {"username": "logged", "password": STRONG}, format="json")
    token = signup.json()["access_token"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="spotify_redux.requests"):
        api.get("/likes", HTTP_AUTHORIZATION=f"Bearer {token}")
        api.get("/catalog/search?q=a")
    lines = [r for r in caplog.records if r.name == "spotify_redux.requests"]
    assert len(lines) == 2
    liked, searched = lines
    assert (liked.method, liked.route, liked.status) == ("GET", "likes", 200)
    assert isinstance(liked.user_id, int)
    assert liked.duration_ms >= 0
    assert searched.user_id is None
    assert hasattr(searched, "model_version")
    assert searched.getMessage().startswith("GET catalog/search 200 ")


@override_settings(REQUEST_LOG=False)
def test_the_request_log_line_can_be_turned_off(api, caplog):
    with caplog.at_level(logging.INFO, logger="spotify_redux.requests"):
        api.get("/catalog/search?q=a")
    assert not [r for r in caplog.records if r.name == "spotify_redux.requests"]


def test_json_log_format_puts_fields_on_one_line():
    record = logging.makeLogRecord(
        {"name": "spotify_redux.requests", "levelname": "INFO", "msg": "GET %s", "args": ("health",)}
    )
    record.route, record.status, record.user_id = "health", 200, None
    line = JsonFormatter().format(record)
    assert "\n" not in line
    document = json.loads(line)
    assert document["message"] == "GET health"
    assert (document["route"], document["status"], document["user_id"]) == ("health", 200, None)
    assert document["level"] == "INFO"
    assert document["time"].endswith("+00:00")


def test_invented_methods_do_not_create_new_series(api):
    before = sample(
        "spotify_http_request_duration_seconds_count", {"route": "health", "method": "OTHER", "status": "405"}
    )
    api.generic("BREW", "/health")
    api.generic("WHEN", "/health")
    after = sample(
        "spotify_http_request_duration_seconds_count", {"route": "health", "method": "OTHER", "status": "405"}
    )
    assert after == before + 2
