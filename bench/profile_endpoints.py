"""Where each endpoint's milliseconds go, measured in one process (no HTTP server, no network).

    DATA_DIR=var/default .venv/bin/python bench/profile_endpoints.py [--requests 300] [--name default]

Loads the published model under ``$DATA_DIR`` (or ``$ARTIFACTS_DIR``) with production settings
(DEBUG=0, covers off), then calls the WSGI application directly, as gunicorn's worker does, with
the same request mix as ``bench/serve.py`` (seeds drawn from the 5,000 most popular songs), the
signed-in ones included: a fresh account with 10 likes, signed up through the app on a temporary
copy of the SQLite user database, so your accounts are never touched (with ``DATABASE_URL`` set,
the account is made in that database and deleted at the end). For every endpoint it prints:

* ``wall ms``: median and p99 of the whole WSGI call, measured without a profiler;
* a breakdown from ``cProfile`` (cumulative ms per request of the parts that matter: the
  middleware + DRF frame, input validation, the service, the vector index, MMR, database queries,
  the cover-cache read and JSON rendering). The profiler inflates pure-Python parts, so the
  breakdown is for *shares*; the wall times are the figures.

Saves bench/results/profile-<name>.json. Run it before and after a change on the same model.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs
from serve import popular_song_ids, signed_in_likes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: (label, file fragment, function name): the parts of a request the breakdown reports.
PARTS = [
    ("request total", "django/core/handlers/wsgi.py", "__call__"),
    ("view (DRF dispatch)", "rest_framework/views.py", "dispatch"),
    ("authentication", "rest_framework/request.py", "_authenticate"),
    ("input validation", "rest_framework/serializers.py", "is_valid"),
    ("recommend service", "recommendations/services.py", "cold_start_recommend"),
    ("recommend service", "recommendations/services.py", "similar_recommend"),
    ("recommend service", "recommendations/services.py", "shelves_recommend"),
    ("vector index search", "faiss/class_wrappers.py", "replacement_search"),
    ("candidates + features", "ml/candidates.py", "candidate_set"),
    ("item graph neighbours", "ml/graph.py", "neighbours"),
    ("re-rank (scorer)", "ml/ranker.py", "score"),
    ("MMR + artist cap", "ml/served.py", "diversify"),
    ("catalog search", "catalog/selectors.py", "song_search"),
    ("catalog search", "catalog/search_index.py", "search"),
    ("JWT check", "rest_framework_simplejwt/authentication.py", "get_validated_token"),
    ("user fetch", "rest_framework_simplejwt/authentication.py", "get_user"),
    ("database queries", "django/db/backends/utils.py", "_execute"),
    ("cover cache read", "catalog/covers/__init__.py", "cached_cover_urls"),
    ("JSON render", "rest_framework/renderers.py", "render"),
    ("JSON render", "core/renderers.py", "render"),
]


def setup_django(scratch: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotify_redux.settings")
    if "DATABASE_URL" not in os.environ:  # the signed-in scenarios sign up a user: on a copy
        users_db = Path(os.environ.get("DATA_DIR", ROOT / "var")) / "users.db"
        if not users_db.exists():
            raise SystemExit(f"no user database at {users_db}: run manage.py migrate first")
        # SQLite's backup API, not a file copy: a WAL database keeps committed pages beside the
        # main file, and a server may be writing while this runs.
        with sqlite3.connect(users_db) as source, sqlite3.connect(scratch / "users.db") as copy:
            source.backup(copy)
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'users.db'}"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("API_SECRET_KEY", secrets.token_urlsafe(48))
    os.environ["COVERS_ENABLED"] = "0"
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import django

    django.setup()


def environ_for(method: str, path: str, body: bytes = b"") -> dict:
    path, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json" if body else "",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def scenarios(items: list[dict], token: str | None) -> dict[str, list[tuple[str, str, bytes, str | None]]]:
    """Per endpoint, the requests (method, path, body, bearer token) cycled through, in the order
    of bench/serve.py's table (each signed-in row after its anonymous one)."""
    rng = random.Random(20261125)
    head = popular_song_ids(items)
    n = 200
    search = [
        ("GET", "/catalog/search?" + urlencode({"q": s.split(" - ", 1)[-1][:4], "limit": 10}), b"", None)
        for s in rng.sample(head, n)
    ]
    cold_start = [
        (
            "POST",
            "/recommendations/cold-start",
            json.dumps({"seeds": rng.sample(head, rng.randint(3, 5)), "limit": 10}).encode(),
            None,
        )
        for _ in range(n)
    ]
    similar = [
        ("POST", "/recommendations/similar", json.dumps({"song": s, "limit": 10}).encode()) for s in rng.sample(head, n)
    ]
    categories = [
        ("GET", "/recommendations/categories?" + urlencode({"seed": s, "limit": 8}), b"", None)
        for s in rng.sample(head, n)
    ]
    return {
        "health": [("GET", "/health", b"", None)],
        "catalog search": search,
        "cold-start": cold_start,
        "similar": [(*request, None) for request in similar],
        "similar (signed in)": [(*request, token) for request in similar],
        "categories": categories,
        "categories (signed in)": [("GET", "/recommendations/categories?limit=8", b"", token)],
    }


def call(app, method: str, path: str, body: bytes, token: str | None = None) -> tuple[int, bytes]:
    status: list[str] = []
    environ = environ_for(method, path, body)
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    chunks = app(environ, lambda s, h, exc_info=None: status.append(s))
    content = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return int(status[0].split()[0]), content


def signed_in_token(app, username: str, like: list[str]) -> str:
    """A fresh account with ``like`` liked, made through the API as a client would."""
    body = json.dumps({"username": username, "password": "profile-password-123"})
    status, content = call(app, "POST", "/auth/signup", body.encode())
    if status != 201:
        raise SystemExit(f"signup answered {status}: {content[:200]!r}")
    token = json.loads(content)["access_token"]
    for song in like:
        status, content = call(app, "POST", "/likes/toggle", json.dumps({"song_id": song}).encode(), token)
        if status != 200:
            raise SystemExit(f"like answered {status}: {content[:200]!r}")
    return token


def breakdown(profile: cProfile.Profile, requests: int) -> dict[str, float]:
    stats = pstats.Stats(profile, stream=io.StringIO())
    parts: dict[str, float] = {}
    for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items():
        for label, fragment, name in PARTS:
            if function == name and filename.endswith(fragment):
                # Recursive/nested entries of one function are counted once by cProfile's cumtime.
                parts[label] = parts.get(label, 0.0) + cumulative * 1000 / requests
    return {label: round(parts[label], 3) for label, _, _ in PARTS if label in parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="measured requests per endpoint")
    parser.add_argument("--name", default="default", help="results file: bench/results/profile-<name>.json")
    parser.add_argument("--top", type=int, default=0, help="also print the N functions with the most own time")
    parser.add_argument("--only", default=None, help="comma-separated endpoints to run (default: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="profile-") as scratch:
        setup_django(Path(scratch))
        profile_all(args)


def profile_all(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    from recommendations.model_store import model_store

    model = model_store.load()
    if model is None:
        raise SystemExit(f"no model: {model_store.get_error()}")
    app = get_wsgi_application()
    items = json.loads((Path(settings.ARTIFACTS_DIR) / "current" / "items.json").read_text())
    manifest = json.loads((Path(settings.ARTIFACTS_DIR) / "current" / "manifest.json").read_text())
    print(f"model {model.version}: {model.size} songs x {model.vectors.shape[1]} dims, index {manifest['index']}")

    chosen = args.only.split(",") if args.only else None
    if chosen is not None and not any("signed in" in name for name in chosen):
        # Anonymous endpoints only: no account, so a model whose songs are not in this database's
        # catalog (bench/big_serve.py's synthetic 1M songs) can be profiled too.
        results = profile_endpoints(app, scenarios(items, None), args)
    else:
        username = f"profile{secrets.token_hex(4)}"
        token = signed_in_token(app, username, signed_in_likes(items))  # the account bench/serve.py makes
        try:
            results = profile_endpoints(app, scenarios(items, token), args)
        finally:
            from accounts.models import User

            User.objects.filter(username=username).delete()  # its likes go with it
    out = save_results(
        RESULTS_DIR / f"profile-{args.name}.json",
        {
            "note": "one process, WSGI called directly; wall = no profiler; breakdown = cProfile cumulative "
            "(inflated for pure Python, read as shares).",
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "model": {"version": model.version, "songs": model.size, "dims": int(model.vectors.shape[1])},
            "index": manifest["index"],
            "requests_per_endpoint": args.requests,
            "results": results,
        },
    )
    print(f"\nsaved {out.relative_to(ROOT)}")


def profile_endpoints(app, requests_by_endpoint: dict, args: argparse.Namespace) -> dict:
    results = {}
    for name, requests in requests_by_endpoint.items():
        if args.only and name not in args.only.split(","):
            continue
        for method, path, body, bearer in requests[:20]:  # warm-up: page faults, first-query plans
            status, _ = call(app, method, path, body, bearer)
            if status != 200:
                raise SystemExit(f"{name}: {method} {path} answered {status}")
        wall = []
        for i in range(args.requests):
            method, path, body, bearer = requests[i % len(requests)]
            started = time.perf_counter()
            call(app, method, path, body, bearer)
            wall.append((time.perf_counter() - started) * 1000)
        profile = cProfile.Profile()
        profile.enable()
        for i in range(args.requests):
            method, path, body, bearer = requests[i % len(requests)]
            call(app, method, path, body, bearer)
        profile.disable()
        wall.sort()
        row = {
            "wall_p50_ms": round(statistics.median(wall), 3),
            "wall_p99_ms": round(wall[int(len(wall) * 0.99) - 1], 3),
            "profiled_ms_per_request": breakdown(profile, args.requests),
        }
        results[name] = row
        print(f"\n{name}: wall p50 {row['wall_p50_ms']:.2f} ms, p99 {row['wall_p99_ms']:.2f} ms")
        for label, ms in row["profiled_ms_per_request"].items():
            print(f"  {label:22s} {ms:8.3f} ms (profiled)")
        if args.top:
            pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    return results


if __name__ == "__main__":
    main()
