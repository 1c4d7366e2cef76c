"""Prometheus metrics: what they are, the hooks that record them, and the protected /metrics view.

Multiprocess-safe under gunicorn: ``spotify_redux/gunicorn.conf.py`` points
``PROMETHEUS_MULTIPROC_DIR`` at a directory of this instance's own (emptied when the master
starts, a dead worker's live gauges removed when it exits), every process writes its values to
memory-mapped files there, and ``/metrics`` merges them, so any worker answering the scrape
reports the whole instance. Without that variable (runserver, tests) one in-process registry
is used.

Recommendation timing, per request and per stage:

* :func:`recommendation_timer` wraps one service call at the API boundary (stage ``total``)
  and names the endpoint for any stage recorded inside it;
* :func:`recommendation_stage` is the hook the recommender calls around its own steps (the model
  store hands it to ``ml.served.RankingModel.stage_timer``): ``faiss`` (the index search),
  ``candidates`` (both generators and the features, FAISS included), ``rerank`` (the scorer),
  ``mmr`` (MMR, the artist cap, exclusions). A stage recorded outside a timer is filed under
  endpoint ``other``.

Access: ``METRICS_TOKEN`` set → ``Authorization: Bearer <token>`` is required; else only client
addresses in ``METRICS_ALLOWED_NETWORKS`` (default loopback) may scrape. The socket address
counts, never ``X-Forwarded-For``.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from .exceptions import error_body

LATENCY_BUCKETS_S = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
STAGE_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
UNMATCHED_ROUTE = "<unmatched>"
# Any other method a client sends is labelled OTHER, so clients cannot mint new series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

http_request_duration = Histogram(
    "spotify_http_request_duration_seconds",
    "Time from the first middleware to the response, by route pattern, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS_S,
)
throttled_requests = Counter("spotify_throttled_requests", "Requests answered 429 (throttled), by route.", ["route"])
recommendation_stage_duration = Histogram(
    "spotify_recommendation_stage_seconds",
    "Time spent per request in a recommendation stage (total, faiss, candidates, rerank), by endpoint.",
    ["endpoint", "stage"],
    buckets=STAGE_BUCKETS_S,
)
model_info = Gauge(
    "spotify_model_info",
    "1 for the model version a process serves, 0 for versions it served before (one series per process).",
    ["version"],
    multiprocess_mode="liveall",
)
model_load_seconds = Gauge(
    "spotify_model_load_seconds",
    "How long the served model took to load and verify (one series per process).",
    multiprocess_mode="liveall",
)
model_loads = Counter("spotify_model_loads", "Model loads by outcome (ok, refused).", ["outcome"])
cover_cache_lookups = Counter(
    "spotify_cover_cache_lookups",
    "Cover cache reads per song, hit (known, with or without a cover) or miss (never seen).",
    ["result"],
)
cover_provider_failures = Counter(
    "spotify_cover_provider_failures", "Failed cover provider requests, by provider.", ["provider"]
)


@lru_cache(maxsize=1024)
def request_duration_child(route: str, method: str, status: int):
    """The latency histogram's series for one route/method/status, looked up once per process
    (``labels()`` takes a lock and builds a key on every call; this is a dict hit)."""
    return http_request_duration.labels(route, method, str(status))


@lru_cache(maxsize=256)
def _stage_child(endpoint: str, stage: str):
    """The stage histogram's series, looked up once per process, like :func:`request_duration_child`."""
    return recommendation_stage_duration.labels(endpoint, stage)


_endpoint: ContextVar[str] = ContextVar("recommendation_endpoint", default="other")
_served_version: str | None = None
_served_load_seconds = 0.0


# --------------------------------------------------------------------------------------------
# Hooks


@contextmanager
def recommendation_timer(endpoint: str) -> Iterator[None]:
    """Time one recommendation service call (stage ``total``); stages inside are filed under ``endpoint``."""
    token = _endpoint.set(endpoint)
    started = time.perf_counter()
    try:
        yield
    finally:
        _stage_child(endpoint, "total").observe(time.perf_counter() - started)
        _endpoint.reset(token)


@contextmanager
def recommendation_stage(stage: str) -> Iterator[None]:
    """The recommender's timing hook: ``with recommendation_stage("faiss"): index.search(...)``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        _stage_child(_endpoint.get(), stage).observe(time.perf_counter() - started)


def model_served(version: str, load_seconds: float) -> None:
    """Record the model this process now serves (called by the model store after a load)."""
    global _served_version, _served_load_seconds
    if _served_version and _served_version != version:
        model_info.labels(_served_version).set(0)
    model_info.labels(version).set(1)
    model_load_seconds.set(load_seconds)
    _served_version, _served_load_seconds = version, load_seconds


def worker_forked() -> None:
    """In a new gunicorn worker: report the model it inherited from the master's preload as its own
    (per-process gauges are keyed by pid, so the master's values do not carry over)."""
    if _served_version:
        model_served(_served_version, _served_load_seconds)


def served_model_version() -> str | None:
    """The version this process last loaded (for log lines; never triggers a load)."""
    return _served_version


# --------------------------------------------------------------------------------------------
# The /metrics view


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(part, strict=False) for part in spec)


def _allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        sent = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = sent.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


@csrf_exempt  # read-only; a POST gets the JSON 405 below, not Django's CSRF page
def metrics_view(request) -> HttpResponse:
    """Prometheus text format; 403 JSON for a client the token or network rule does not admit."""
    if request.method not in ("GET", "HEAD"):
        return JsonResponse(error_body("Use GET.", "method_not_allowed"), status=405)
    if not _allowed(request):
        return JsonResponse(
            error_body("Metrics need the METRICS_TOKEN bearer token or an allowed address.", "permission_denied"),
            status=403,
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
