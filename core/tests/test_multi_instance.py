"""Two gunicorn instances sharing PostgreSQL, Redis and the artifacts directory, as in production.

Runs only when ``MULTI_INSTANCE=1`` with a PostgreSQL ``DATABASE_URL`` and a ``REDIS_URL`` (the
third step of ``.ci/run``); ``make test`` skips it. It creates its own database (the given name
plus ``_multi``), trains two small models on generated demo data, starts two instances on
loopback ports ``MULTI_INSTANCE_PORTS`` (default 8411,8412) with covers pointed at a local fake
provider server, and checks what a load balancer in front of them relies on:

- a user signs up on one instance and logs in on the other;
- a like made on one shows on the other and leaves the other's recommendations;
- a cover looked up by one is a cache hit on the other (the providers are asked once);
- the signup/login throttle counts across both;
- a model published (``build_index``) under load: zero failed requests, both on it within 5 s;
- a rollback (``publish OLD``) under the same load, the same way;
- each instance has its own control socket, JSON request logs and /metrics with the version.

Prints the figures (requests, req/s, pick-up delay per instance) for docs/DEPLOY.md.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

from catalog.tests.fake_covers import FakeCoverServer

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
PORTS = [int(p) for p in os.environ.get("MULTI_INSTANCE_PORTS", "8411,8412").split(",")]
THROTTLE_PER_MINUTE = 10
PICKUP_LIMIT_S = 5.0
LOAD_THREADS = 8
LOAD_MIN_REQUESTS = 2000  # per phase, and at least LOAD_AFTER_SWITCH_S past the switch
LOAD_MAX_REQUESTS = 8000
LOAD_MAX_S = 60.0
LOAD_AFTER_SWITCH_S = 6.0  # keep the load going this long after `current` moved
PASSWORD = "correct-horse-battery"

pytestmark = pytest.mark.skipif(
    os.environ.get("MULTI_INSTANCE") != "1",
    reason="multi-instance test: set MULTI_INSTANCE=1 with a PostgreSQL DATABASE_URL and a REDIS_URL (.ci/run does)",
)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Replaces the suite's per-test cache.clear(): here the cache is the instances' shared state
    (throttle history, covers) that these tests check, and it must survive from test to test."""


# --------------------------------------------------------------------------------------------
# HTTP


@dataclass
class Reply:
    status: int
    body: dict | list | None
    headers: dict


def call(port: int, method: str, path: str, body=None, token: str | None = None, form: bool = False) -> Reply:
    """One request on a fresh connection (so a failure is always the server's, never a stale socket)."""
    headers = {"Connection": "close"}
    data = None
    if body is not None:
        if form:
            data, headers["Content-Type"] = urlencode(body), "application/x-www-form-urlencoded"
        else:
            data, headers["Content-Type"] = json.dumps(body), "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw and "json" in (response.getheader("Content-Type") or "") else None
        except ValueError:
            parsed = None
        return Reply(response.status, parsed, {k.lower(): v for k, v in response.getheaders()})
    finally:
        connection.close()


def metrics_text(port: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        assert response.status == 200
        return response.read().decode()
    finally:
        connection.close()


# --------------------------------------------------------------------------------------------
# The cluster


def _database_url(suffix: str) -> str:
    parts = urlsplit(DATABASE_URL)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix))


def _recreate_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _drop_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _clear_redis(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


@dataclass
class Cluster:
    ports: list[int]
    env: dict[str, str]
    artifacts: Path
    logs: list[Path]
    versions: tuple[str, str]  # (first, second): second is trained but not yet published
    fake: FakeCoverServer

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def current(self) -> str:
        return os.readlink(self.artifacts / "current").rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # Asked for explicitly, so a missing service is a failure, not a silent skip.
    assert DATABASE_URL.startswith("postgres"), "MULTI_INSTANCE=1 needs DATABASE_URL=postgres://..."
    assert REDIS_URL, "MULTI_INSTANCE=1 needs REDIS_URL=redis://..."
    work = tmp_path_factory.mktemp("multi")
    database = _database_url("_multi")
    prefix = f"{os.environ.get('CACHE_KEY_PREFIX', 'spotify-redux')}-multi"
    fake = FakeCoverServer().start()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "spotify_redux.settings",
        "DEBUG": "0",
        "API_SECRET_KEY": secrets.token_urlsafe(48),  # one key for both: a token from one works on the other
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database,
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": prefix,
        "ARTIFACTS_DIR": str(work / "shared-artifacts"),
        "THROTTLE_AUTH_RATE": f"{THROTTLE_PER_MINUTE}/minute",
        "COVERS_ENABLED": "1",
        "COVER_MUSICBRAINZ_INTERVAL_S": "0",
        "COVER_TIMEOUT_S": "1",
        "COVER_BUDGET_S": "2",
        "WEB_CONCURRENCY": "2",
        "LOG_FORMAT": "json",
        **fake.settings(),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("GUNICORN_CONTROL_SOCKET", None)
    _recreate_database(database)
    _clear_redis(prefix)
    cluster = Cluster(PORTS, env, work / "shared-artifacts", [], ("", ""), fake)
    demo = work / "demo.csv"
    cluster.manage("migrate", "--noinput", "-v", "0")
    cluster.manage("make_demo_data", str(demo), "--users", "400", "--songs", "600", "--seed", "5")
    small = ["--trials", "0", "--factors", "32", "--epochs", "10", "--no-progress"]
    cluster.manage("train", "--data", str(demo), *small, "--seed", "1")
    cluster.manage("build_index")
    first = cluster.current()
    cluster.manage("train", "--data", str(demo), *small, "--seed", "2")
    second = sorted(p.name for p in (cluster.artifacts / "versions").iterdir() if not p.name.startswith("."))[-1]
    assert second != first
    cluster.versions = (first, second)

    servers = []
    for port in PORTS:
        log = work / f"gunicorn-{port}.log"
        cluster.logs.append(log)
        servers.append(
            subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "gunicorn"),
                    "-c",
                    "spotify_redux/gunicorn.conf.py",
                    "spotify_redux.wsgi",
                ],
                cwd=ROOT,
                env={**env, "BIND": f"127.0.0.1:{port}", "DATA_DIR": str(work / f"data-{port}")},
                stdout=subprocess.DEVNULL,
                stderr=open(log, "w"),  # noqa: SIM115 - closed with the process
                start_new_session=True,
            )
        )
    try:
        deadline = time.monotonic() + 90
        for port, server in zip(PORTS, servers, strict=True):
            while True:
                assert server.poll() is None, f"instance on {port} exited:\n{Path(cluster.logs[0]).read_text()[-3000:]}"
                try:
                    if call(port, "GET", "/health").status == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"instance on {port} did not become healthy"
                time.sleep(0.2)
        yield cluster
    finally:
        for server in servers:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        fake.stop()
        _clear_redis(prefix)
        _drop_database(database)


def catalog_songs(port: int, n: int) -> list[str]:
    found: list[str] = []
    for letter in "aeiou":
        reply = call(port, "GET", f"/catalog/search?q={letter}&limit=25")
        assert reply.status == 200
        found.extend(song["song_id"] for song in reply.body if song["song_id"] not in found)
    assert len(found) >= n
    return found[:n]


# --------------------------------------------------------------------------------------------
# Shared state across instances


def test_each_instance_has_its_own_control_socket(cluster):
    paths = []
    for log in cluster.logs:
        # The master's control server starts in a thread of its own and may log its line after
        # the instance already answers /health: wait for it (bounded).
        deadline = time.monotonic() + 15
        while not (match := re.search(r"Control socket listening at (\S+)", log.read_text())):
            assert time.monotonic() < deadline, f"no control socket line in {log}"
            time.sleep(0.1)
        paths.append(match.group(1))
    assert len(set(paths)) == 2
    assert all(Path(path).exists() for path in paths)


def test_a_cover_looked_up_on_one_instance_is_a_cache_hit_on_the_other(cluster):
    a, b = cluster.ports
    song = cluster.fake.add_song("Multi Instance Band", "Shared Cache Song")
    query = "/cover?" + urlencode({"artist": song.artist, "track": song.track})

    def provider_calls() -> int:
        return sum(1 for r in cluster.fake.requests() if "Shared Cache Song" in json.dumps(r.query))

    hits_before = _sample(metrics_text(b), "spotify_cover_cache_lookups_total", 'result="hit"')
    first = call(a, "GET", query)
    assert first.status == 200
    assert first.body["cover_url"] == cluster.fake.itunes_artwork(song, "600x600bb")
    asked = provider_calls()
    assert asked >= 1
    second = call(b, "GET", query)
    assert second.body == first.body
    assert provider_calls() == asked  # answered from the shared cache
    assert _sample(metrics_text(b), "spotify_cover_cache_lookups_total", 'result="hit"') == hits_before + 1


def test_signup_on_one_login_on_the_other_and_likes_are_shared(cluster):
    a, b = cluster.ports
    signed_up = call(a, "POST", "/auth/signup", {"username": "roaming", "password": PASSWORD})
    assert signed_up.status == 201
    logged_in = call(b, "POST", "/auth/login", {"username": "roaming", "password": PASSWORD}, form=True)
    assert logged_in.status == 200
    token_a, token_b = signed_up.body["access_token"], logged_in.body["access_token"]
    assert call(b, "GET", "/me/seeds", token=token_a).status == 200  # either instance honours either token

    seeds = catalog_songs(a, 3)
    before = call(b, "POST", "/recommendations/cold-start", {"seeds": seeds, "limit": 10}, token=token_b)
    assert before.status == 200
    liked = before.body["results"][0]["song_id"]

    assert call(a, "POST", "/likes/toggle", {"song_id": liked}, token=token_a).body == {"liked": True}
    assert call(b, "GET", "/likes", token=token_b).body == {"likes": [liked]}
    after = call(b, "POST", "/recommendations/cold-start", {"seeds": seeds, "limit": 10}, token=token_b)
    assert after.status == 200
    assert liked not in [rec["song_id"] for rec in after.body["results"]]
    upnext = call(b, "POST", "/recommendations/similar", {"song": seeds[0], "limit": 10}, token=token_b)
    assert liked not in [rec["song_id"] for rec in upnext.body["results"]]


def test_the_auth_throttle_counts_across_both_instances(cluster):
    a, b = cluster.ports
    # Earlier tests in this module already spent some of the budget (signup, login): count what is left.
    allowed = 0
    statuses = []
    for attempt in range(2 * THROTTLE_PER_MINUTE + 2):
        port = (a, b)[attempt % 2]
        reply = call(port, "POST", "/auth/login", {"username": "roaming", "password": PASSWORD}, form=True)
        statuses.append((port, reply.status))
        if reply.status == 429:
            assert int(reply.headers["retry-after"]) > 0
            break
        assert reply.status == 200
        allowed += 1
    assert statuses[-1][1] == 429, statuses
    # Signup and login in the test above spent 2; alone, each instance would allow 10.
    assert allowed == THROTTLE_PER_MINUTE - 2, f"{allowed} logins allowed: {statuses}"
    assert call(a, "POST", "/auth/login", {"username": "roaming", "password": PASSWORD}, form=True).status == 429
    assert call(b, "POST", "/auth/login", {"username": "roaming", "password": PASSWORD}, form=True).status == 429


# --------------------------------------------------------------------------------------------
# Model rollout and rollback under load


@dataclass
class Outcome:
    instance: int
    kind: str
    started: float
    status: int
    version: str | None = None
    error: str | None = None


def _sample(text: str, name: str, label_fragment: str = "") -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and label_fragment in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def run_load_while(cluster: Cluster, publish_args: list[str]) -> tuple[list[Outcome], float, float]:
    """Mixed traffic against both instances; ``manage.py *publish_args`` runs one second in.
    Returns (outcomes, when `current` moved, when the command finished), perf_counter times."""
    seeds = catalog_songs(cluster.ports[0], 30)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    stop = threading.Event()
    switched: list[float] = []
    finished: list[float] = []
    old = cluster.current()

    def worker(n: int) -> None:
        rng = random.Random(n)
        i = 0
        while not stop.is_set():
            port = cluster.ports[(n + i) % 2]
            kind = ("health", "cold_start", "search", "similar")[i % 4]
            i += 1
            started = time.perf_counter()
            try:
                if kind == "health":
                    reply = call(port, "GET", "/health")
                elif kind == "cold_start":
                    reply = call(port, "POST", "/recommendations/cold-start", {"seeds": rng.sample(seeds, 3)})
                elif kind == "search":
                    reply = call(port, "GET", f"/catalog/search?q={rng.choice('abcdefghilmnoprstu')}")
                else:
                    reply = call(port, "POST", "/recommendations/similar", {"song": rng.choice(seeds)})
                outcome = Outcome(port, kind, started, reply.status)
                if kind == "health" and isinstance(reply.body, dict):
                    outcome.version = reply.body.get("model_version")
            except OSError as exc:
                outcome = Outcome(port, kind, started, 0, error=repr(exc))
            with lock:
                outcomes.append(outcome)
                if len(outcomes) >= LOAD_MAX_REQUESTS:
                    stop.set()

    def publisher() -> None:
        time.sleep(1.0)
        process = subprocess.Popen(
            [sys.executable, "manage.py", *publish_args],
            cwd=ROOT,
            env=cluster.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        while process.poll() is None:
            if not switched and cluster.current() != old:
                switched.append(time.perf_counter())
            time.sleep(0.005)
        if not switched and cluster.current() != old:
            switched.append(time.perf_counter())
        finished.append(time.perf_counter())
        output = process.stdout.read()
        assert process.returncode == 0, output

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(LOAD_THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    publishing = threading.Thread(target=publisher, daemon=True)
    publishing.start()
    while not stop.is_set():
        now = time.perf_counter()
        if switched and now > switched[0] + LOAD_AFTER_SWITCH_S and len(outcomes) >= LOAD_MIN_REQUESTS:
            break
        if now - started > LOAD_MAX_S:
            break
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    publishing.join(timeout=120)
    assert switched, f"`current` never moved from {old} (publish {' '.join(publish_args)})"
    return outcomes, switched[0], finished[0] if finished else float("nan")


def check_rollout(cluster: Cluster, outcomes: list[Outcome], switched: float, target: str, label: str) -> None:
    failed = [o for o in outcomes if o.status != 200]
    elapsed = max(o.started for o in outcomes) - min(o.started for o in outcomes)
    pickups = {}
    for port in cluster.ports:
        health = sorted((o for o in outcomes if o.instance == port and o.version), key=lambda o: o.started)
        stale_after = [o.started - switched for o in health if o.started > switched and o.version != target]
        fresh_after = [o for o in health if o.started > switched and o.version == target]
        assert fresh_after, f"{label}: instance {port} never reported {target}"
        # Pick-up = the last request that still saw the old model, counted from the switch.
        pickups[port] = round(max(stale_after, default=0.0), 3)
    print(
        f"\n{label}: {len(outcomes)} requests in {elapsed:.1f} s ({len(outcomes) / elapsed:.0f} req/s) against "
        f"{len(cluster.ports)} instances, {len(failed)} failed; last old-model answer after the switch, per "
        f"instance: {pickups} s"
    )
    assert not failed, f"{label}: {len(failed)} failed requests, e.g. {failed[:5]}"
    assert len(outcomes) >= LOAD_MIN_REQUESTS, f"{label}: only {len(outcomes)} requests ran"
    assert all(delay <= PICKUP_LIMIT_S for delay in pickups.values()), pickups


def test_a_new_model_published_under_load_then_a_rollback(cluster):
    first, second = cluster.versions
    assert cluster.current() == first

    outcomes, switched, _ = run_load_while(cluster, ["build_index"])
    assert cluster.current() == second
    check_rollout(cluster, outcomes, switched, second, "publish (build_index)")

    outcomes, switched, _ = run_load_while(cluster, ["publish", first])
    assert cluster.current() == first
    check_rollout(cluster, outcomes, switched, first, "rollback (publish OLD)")

    for port in cluster.ports:
        text = metrics_text(port)
        serving = [
            line for line in text.splitlines() if line.startswith("spotify_model_info{") and line.endswith(" 1.0")
        ]
        assert any(f'version="{first}"' in line for line in serving), serving
        assert _sample(text, "spotify_http_request_duration_seconds_count", 'route="health"') > 0
        assert _sample(text, "spotify_recommendation_stage_seconds_count", 'stage="faiss"') > 0


def test_request_logs_are_json_lines_with_route_status_and_version(cluster):
    records = []
    for line in cluster.logs[0].read_text().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    requests = [r for r in records if r.get("logger") == "spotify_redux.requests"]
    assert requests, "no request log lines"
    cold = [r for r in requests if r["route"] == "recommendations/cold-start" and r["status"] == 200]
    assert cold
    assert all(r["model_version"] in cluster.versions for r in cold)
    assert all(isinstance(r["duration_ms"], int | float) for r in cold)
    assert any(isinstance(r["user_id"], int) for r in requests)
