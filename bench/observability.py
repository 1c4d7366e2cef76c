"""Per-request cost of the observability middleware (metrics + the request log line).

    .venv/bin/python bench/observability.py [--requests 20000]

Calls ``RequestObservabilityMiddleware`` around a view that returns at once, on a resolved
request, the way gunicorn workers run it: Prometheus multiprocess mode (files under a temporary
PROMETHEUS_MULTIPROC_DIR), the log line written to /dev/null in plain and JSON format, and with
the log line off. Baseline: the same view without the middleware. Each mode runs in its own
process, interleaved over 3 rounds; medians of the per-request cost are printed and saved to
bench/results/observability.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, logging, os, sys, time
sys.path.insert(0, {root!r})
os.environ["DJANGO_SETTINGS_MODULE"] = "spotify_redux.settings"
os.environ["LOG_FORMAT"] = {log_format!r}
os.environ["REQUEST_LOG"] = {request_log!r}
os.environ["MODEL_PRELOAD"] = "0"
import django
django.setup()
handler = logging.getLogger().handlers[0]
handler.setStream(open(os.devnull, "w"))
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import resolve
from core.middleware import RequestObservabilityMiddleware

request = RequestFactory().get("/catalog/search", {{"q": "a"}})
request.resolver_match = resolve("/catalog/search")
response = HttpResponse(b"[]")
view = lambda r: response
wrapped = RequestObservabilityMiddleware(view) if {with_middleware!r} else view
for _ in range(2000):
    wrapped(request)
n = {requests}
started = time.perf_counter()
for _ in range(n):
    wrapped(request)
print(json.dumps({{"us_per_request": (time.perf_counter() - started) / n * 1e6}}))
"""

MODES = {
    "no middleware (baseline)": {"with_middleware": False, "log_format": "plain", "request_log": "0"},
    "metrics only (REQUEST_LOG=0)": {"with_middleware": True, "log_format": "plain", "request_log": "0"},
    "metrics + plain log line": {"with_middleware": True, "log_format": "plain", "request_log": "1"},
    "metrics + JSON log line": {"with_middleware": True, "log_format": "json", "request_log": "1"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(args.rounds):
        for mode, options in MODES.items():
            with tempfile.TemporaryDirectory(prefix="bench-prom-") as metrics_dir:
                env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
                done = subprocess.run(
                    [sys.executable, "-c", CHILD.format(root=str(ROOT), requests=args.requests, **options)],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=True,
                )
            samples[mode].append(json.loads(done.stdout.strip().splitlines()[-1])["us_per_request"])
    baseline = statistics.median(samples["no middleware (baseline)"])
    figures = {}
    for mode, values in samples.items():
        median = statistics.median(values)
        figures[mode] = {"median_us": round(median, 2), "added_us": round(median - baseline, 2), "runs_us": values}
        print(f"{mode:<32} {median:8.2f} us/request  (+{median - baseline:.2f} us)")
    out = save_results(
        RESULTS_DIR / "observability.json",
        {
            "requests_per_run": args.requests,
            "rounds": args.rounds,
            "machine": {"cpus": os.cpu_count(), "note": "shared, 5 engineers"},
            "modes": figures,
        },
    )
    print(f"Saved {out}")


if __name__ == "__main__":
    main()
