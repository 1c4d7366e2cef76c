"""Cover-art benchmark: does a 10-song response stay as fast with covers on, providers 200 ms away?

    .venv/bin/python bench/covers.py                        # 500 requests per setup, one client
    .venv/bin/python bench/covers.py --requests 1000 --concurrency 2 --latency-ms 500

Starts the fake cover providers (catalog/tests/fake_covers.py) on 127.0.0.1, every answer delayed
by --latency-ms, in a process of their own (niced: they stand in for remote services). Then three
gunicorn servers (spotify_redux/gunicorn.conf.py, DEBUG=0) on the same catalog, each with its own
cover-cache key prefix in Redis:

- covers off:             COVERS_ENABLED=0 (the baseline);
- covers on, cold cache:  COVERS_ENABLED=1 and an empty cache, so every response queues songs and
                          the background fill is busy throughout (the worst case);
- covers on, warm cache:  COVERS_ENABLED=1 and every song's cover cached (after warm_covers).

Requests are interleaved, each request sent to the three servers in turn (rotating the order), so
load from anything else on the machine hits the three setups alike. Latency is reported as the
client saw it and as gunicorn logged it (%(D)s: server time, which includes the post-response
clean-up). Prints p50/p99 per setup and the ratio to the baseline; saves bench/results/covers.json.

Endpoint: POST /recommendations/cold-start (10 results) when a published model is found under
--state (default var/bench/demo, which `bench/serve.py --data demo` builds); otherwise
GET /catalog/search?q=…&limit=10 on a synthetic catalog published with catalog_publish into a
temporary SQLite file. Needs Redis (--redis-url). Every request loop is bounded; all traffic stays
on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.tests.fake_covers import FakeCoverServer  # noqa: E402 (needs ROOT on the path)

PYTHON = sys.executable
WARMUP_REQUESTS = 30
SYNTHETIC_SONGS = 3000
SYNTHETIC_ARTISTS = 400
SETUPS = ("covers off", "covers on, cold cache", "covers on, warm cache")

Request = tuple[str, str, bytes | None]


def serve_fake(conn, songs: list[tuple[str, str]], delay_s: float) -> None:
    """Child process: the fake providers, with ``songs`` known to all of them; stops on any message."""
    os.nice(19)  # stand-in for remote services: never take CPU from the servers being measured
    fake = FakeCoverServer().start()
    for artist, title in songs:
        fake.add_song(artist, title)
    fake.behave(delay_s=delay_s)
    conn.send(fake.settings())
    conn.recv()
    conn.send(fake.hits())
    fake.stop()


class FakeProcess:
    def __init__(self, songs: list[tuple[str, str]], delay_s: float):
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve_fake, args=(child, songs, delay_s), daemon=True)
        self._process.start()
        if not self._conn.poll(120):
            raise SystemExit("the fake providers did not start")
        self.settings: dict[str, str] = self._conn.recv()
        self._hits: int | None = None

    def stop(self) -> int:
        """Stop it (once); returns how many requests it answered."""
        if self._hits is None:
            self._conn.send("stop")
            self._hits = self._conn.recv() if self._conn.poll(30) else -1
            self._process.join(timeout=30)
        return self._hits


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", *args], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def publish_synthetic_catalog(env: dict[str, str]) -> list[tuple[str, str]]:
    songs = [(f"Artist {i % SYNTHETIC_ARTISTS}", f"Track {i}") for i in range(1, SYNTHETIC_SONGS + 1)]
    manage(["migrate", "--noinput", "-v", "0"], env)
    code = (
        "from catalog.services import catalog_publish\n"
        f"songs = {songs!r}\n"
        "catalog_publish(items=[{'song_id': f'{a} - {t}', 'artist': a, 'title': t, 'popularity': 10_000 - n}"
        " for n, (a, t) in enumerate(songs)], model_version='bench-covers')\n"
    )
    manage(["shell", "-c", code], env)
    return songs


def warm_cache(env: dict[str, str], songs: list[tuple[str, str]]) -> None:
    """Store a cover for every song straight into the cache: the steady state after warm_covers."""
    code = (
        "from catalog.covers.store import cache_store, cover_cache_key\n"
        f"for artist, title in {songs!r}:\n"
        "    url = 'https://img.example/' + title.replace(' ', '-') + '.jpg'\n"
        "    cache_store(cover_cache_key(artist, title), url, complete=True)\n"
    )
    manage(["shell", "-c", code], env)


def clear_prefix(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


def redis_answers(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
    except redis.RedisError:
        return False
    return True


class Server:
    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.access_log = log.with_suffix(".access")
        self.process = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "-c",
                "spotify_redux/gunicorn.conf.py",
                # Command-line settings win over the config file: log each request's server time in µs.
                "--access-logfile",
                str(self.access_log),
                "--access-logformat",
                "%(D)s %(s)s",
                "spotify_redux.wsgi",
            ],
            env={**env, "BIND": f"127.0.0.1:{self.port}"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )

    def wait_ready(self, probe: Request, deadline_s: float = 120) -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            try:
                if request(self.port, *probe)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit("gunicorn did not answer in time; see its log")

    def server_times_s(self, last: int) -> list[float]:
        """Server-side durations of the last ``last`` requests (the measured ones)."""
        lines = [line for line in self.access_log.read_text().splitlines() if line.strip()]
        return [int(line.split()[0]) / 1e6 for line in lines[-last:]]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def request(port: int, method: str, path: str, body: bytes | None) -> tuple[int, float, dict | list]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return response.status, elapsed, json.loads(payload) if payload else {}


def rows_of(payload) -> list[dict]:
    return payload["results"] if isinstance(payload, dict) else payload


def percentiles_ms(latencies_s: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_s)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)

    return {
        "p50_ms": at(0.50),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.mean(ordered) * 1000, 2),
    }


def run_interleaved(servers: dict[str, Server], requests: list[Request], concurrency: int) -> dict[str, dict]:
    names = list(servers)
    for item in requests[:WARMUP_REQUESTS]:
        for name in names:
            request(servers[name].port, *item)

    def one(indexed: tuple[int, Request]) -> dict[str, tuple]:
        index, item = indexed
        order = names[index % len(names) :] + names[: index % len(names)]
        return {name: request(servers[name].port, *item) for name in order}

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(one, enumerate(requests)))
    time.sleep(0.5)  # let the workers flush their access-log lines

    results = {}
    for name in names:
        mine = [outcome[name] for outcome in outcomes]
        rows = [rows_of(payload) for status, _, payload in mine if status == 200]
        tenth = max(1, len(rows) // 10)

        def covered(chunk: list[list[dict]]) -> float:
            items = [row for rows_ in chunk for row in rows_]
            return round(sum(1 for row in items if row.get("cover_url")) / max(1, len(items)), 3)

        results[name] = {
            "requests": len(mine),
            "errors": sum(1 for status, _, _ in mine if status != 200),
            "items_per_response": round(statistics.mean(len(r) for r in rows), 1) if rows else 0,
            "client": percentiles_ms([elapsed for _, elapsed, _ in mine]),
            "server": percentiles_ms(servers[name].server_times_s(len(requests))),
            "covered_first_tenth": covered(rows[:tenth]),
            "covered_last_tenth": covered(rows[-tenth:]),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500, help="measured requests per setup (default 500)")
    parser.add_argument("--concurrency", type=int, default=1, help="client threads (default 1)")
    parser.add_argument("--latency-ms", type=int, default=200, help="fake provider latency (default 200)")
    parser.add_argument("--state", default=str(ROOT / "var" / "bench" / "demo"), help="bench/serve.py state dir")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (default 2)")
    args = parser.parse_args()
    if not 1 <= args.requests <= 100_000 or not 1 <= args.concurrency <= 64:
        raise SystemExit("--requests must be 1..100000 and --concurrency 1..64")
    if not redis_answers(args.redis_url):
        raise SystemExit(f"no Redis answers at {args.redis_url}: the servers share covers through it (--redis-url)")

    work = Path(tempfile.mkdtemp(prefix="bench-covers-"))
    run_id = uuid.uuid4().hex[:8]
    prefixes = {name: f"bench-covers-{run_id}-{n}" for n, name in enumerate(SETUPS)}
    env = {
        **os.environ,
        "DEBUG": "0",
        "API_SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATA_DIR": str(work),
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": args.redis_url,
        "WEB_CONCURRENCY": str(args.workers),
    }

    rng = random.Random(20261125)
    state = Path(args.state)
    if (state / "artifacts" / "current").exists() and (state / "bench.db").exists():
        endpoint = "POST /recommendations/cold-start"
        env.update({"DATABASE_URL": f"sqlite:///{state / 'bench.db'}", "ARTIFACTS_DIR": str(state / "artifacts")})
        items = json.loads((state / "artifacts" / "current" / "items.json").read_text())
        head = sorted(items, key=lambda item: -item["popularity"])[:5000]
        songs = [(item.get("artist", ""), item.get("title", "")) for item in head]
        song_ids = [item["song_id"] for item in head]
        requests: list[Request] = [
            (
                "POST",
                "/recommendations/cold-start",
                json.dumps({"seeds": rng.sample(song_ids, rng.randint(3, 5)), "limit": 10}).encode(),
            )
            for _ in range(args.requests)
        ]
        probe: Request = ("GET", "/health", None)
    else:
        endpoint = "GET /catalog/search?limit=10"
        env.update({"DATABASE_URL": f"sqlite:///{work / 'bench.db'}", "MODEL_PRELOAD": "0"})
        songs = publish_synthetic_catalog(env)
        # "track 12" matches Track 12 exactly and Track 120-129, 1200-1299 by prefix: always 10 rows.
        requests = [
            ("GET", "/catalog/search?" + urlencode({"q": f"track {rng.randint(10, 299)}", "limit": 10}), None)
            for _ in range(args.requests)
        ]
        probe = ("GET", "/catalog/search?q=track&limit=1", None)

    fake = FakeProcess(songs, args.latency_ms / 1000)
    env.update(fake.settings)
    warm_cache({**env, "CACHE_KEY_PREFIX": prefixes["covers on, warm cache"]}, songs)
    print(
        f"endpoint {endpoint}; {args.requests} requests per setup, interleaved, concurrency {args.concurrency}; "
        f"{args.workers} gunicorn workers per server; fake providers {args.latency_ms} ms; cache Redis",
        flush=True,
    )
    servers: dict[str, Server] = {}
    try:
        for name in SETUPS:
            servers[name] = Server(
                {**env, "COVERS_ENABLED": "0" if name == "covers off" else "1", "CACHE_KEY_PREFIX": prefixes[name]},
                work / f"gunicorn-{prefixes[name]}.log",
            )
        for server in servers.values():
            server.wait_ready(probe)
        results = run_interleaved(servers, requests, args.concurrency)
        provider_requests = fake.stop()

        off = results["covers off"]
        ratio = {
            name: {
                f"{side}_{key}": round(row[side][key] / off[side][key], 3)
                for side in ("client", "server")
                for key in ("p50_ms", "p99_ms")
            }
            for name, row in results.items()
            if name != "covers off"
        }
        print(f"\n{'':24s} {'client p50':>10s} {'client p99':>10s} {'server p50':>10s} {'server p99':>10s}  covers")
        for name, row in results.items():
            print(
                f"{name:24s} {row['client']['p50_ms']:10.2f} {row['client']['p99_ms']:10.2f} "
                f"{row['server']['p50_ms']:10.2f} {row['server']['p99_ms']:10.2f}  "
                f"{row['covered_first_tenth']:.0%} -> {row['covered_last_tenth']:.0%}  errors {row['errors']}"
            )
        for name, r in ratio.items():
            print(
                f"{'ratio ' + name.removeprefix('covers on, '):24s} {r['client_p50_ms']:9.2f}x "
                f"{r['client_p99_ms']:9.2f}x {r['server_p50_ms']:9.2f}x {r['server_p99_ms']:9.2f}x"
            )
        print(f"provider requests answered by the fake: {provider_requests}")
        out = save_results(
            RESULTS_DIR / "covers.json",
            {
                "machine": {"cores": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)},
                "endpoint": endpoint,
                "requests_per_setup": args.requests,
                "concurrency": args.concurrency,
                "gunicorn_workers_per_server": args.workers,
                "provider_latency_ms": args.latency_ms,
                "results": results,
                "ratio_to_covers_off": ratio,
                "provider_requests": provider_requests,
            },
        )
        print(f"saved {out.relative_to(ROOT)}")
    finally:
        for server in servers.values():
            server.stop()
        fake.stop()
        for prefix in prefixes.values():
            clear_prefix(args.redis_url, prefix)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
