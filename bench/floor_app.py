"""The framework floor: a minimal FastAPI app that answers ``GET /health`` with the same JSON as ours.

    FLOOR_HEALTH_JSON='{"status": "ok", ...}' .venv/bin/uvicorn --app-dir bench floor_app:app --workers 3 --port 8571

``bench/serve.py --compare-floor`` starts it (dependencies: requirements-bench.txt, not the
runtime) and measures our ``/health`` against it in the same, interleaved run: what a request
costs in the stack the product replaces, with no model, database or middleware behind it.
"""

from __future__ import annotations

import json
import os

from fastapi import FastAPI

HEALTH = json.loads(os.environ.get("FLOOR_HEALTH_JSON", '{"status": "ok", "songs_indexed": 0, "model_version": null}'))

app = FastAPI()


@app.get("/health")
async def health() -> dict:
    return HEALTH
