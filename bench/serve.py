"""Serving benchmark: gunicorn with production settings, driven by wrk on loopback.

    .venv/bin/python bench/serve.py                      # full playlist dataset (~178k songs)
    .venv/bin/python bench/serve.py --min-item-users 2   # the product's default catalog (~60k songs)
    .venv/bin/python bench/serve.py --data demo          # the bundled demo data (quick check)

Builds (once, cached under var/bench/) and publishes a model with the project's own commands
(`train --trials 0`: the default parameters, no search, since only serving speed is measured here;
`--min-item-users 1` by default so every song of the dataset is in the catalog, the scale the
serving targets are set for),
starts gunicorn on 127.0.0.1 with DEBUG=0, then runs wrk at each concurrency for each endpoint
with realistic, varied request bodies (seeds drawn with a fixed seed, uniformly from the 5,000
most popular songs, as onboarding offers popular songs to pick). Each endpoint first gets a short
unmeasured warm-up (page faults, connection set-up). Prints p50/p99 latency, req/s, errors and
per-worker memory; saves everything to bench/results/serve-*.json. Needs `wrk`
(Debian package wrk). Every request loop is bounded by --duration; traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _datasets import require_dataset
from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs

ROOT = Path(__file__).resolve().parent.parent
PLAYLISTS = ROOT.parent / "shared" / "datasets" / "spotify-mpd-followed-playlists"
PYTHON = sys.executable
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
WARMUP_S = 2


def run(cmd: list[str], env: dict[str, str]) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, cwd=ROOT, check=True)


def build_model(data: str, env: dict[str, str], work: Path, min_item_users: int) -> None:
    if (Path(env["ARTIFACTS_DIR"]) / "current").exists():
        print(f"using the model already published under {env['ARTIFACTS_DIR']}")
        run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env)
        return
    run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    if data == "demo":
        csv_path = work / "demo.csv"
        run([PYTHON, "manage.py", "make_demo_data", str(csv_path)], env)
        run([PYTHON, "manage.py", "train", "--data", str(csv_path), "--trials", "0"], env)
    else:
        run(
            [
                PYTHON,
                "manage.py",
                "train",
                "--data",
                str(PLAYLISTS),
                "--format",
                "playlists",
                "--trials",
                "0",
                "--min-item-users",
                str(min_item_users),
                "--no-progress",
            ],
            env,
        )
    run([PYTHON, "manage.py", "build_index"], env)


def wait_healthy(deadline_s: float = 120) -> dict:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(BASE + "/health", timeout=2) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not become healthy in time")


def http_json(method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    request = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def memory_of(pid: int) -> dict[str, float]:
    """RSS and private (unshared) memory of one process, in MB."""
    fields: dict[str, float] = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            if name in {"Rss", "Pss", "Private_Clean", "Private_Dirty"}:
                fields[name] = int(rest.split()[0]) / 1024
    return {
        "rss_mb": fields["Rss"],
        "pss_mb": fields["Pss"],
        "private_mb": fields["Private_Clean"] + fields["Private_Dirty"],
    }


def workers_of(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return sorted(int(pid) for pid in out.split())


LUA_TEMPLATE = """
local bodies = {%s}
local paths = {%s}
local headers_auth = %s
local i = 0
request = function()
  i = i + 1
  local k = (i %% #paths) + 1
  local headers = {["Content-Type"] = "application/json"}
  if headers_auth ~= "" then headers["Authorization"] = headers_auth end
  if bodies[k] == "" then
    return wrk.format("GET", paths[k], headers, nil)
  end
  return wrk.format("POST", paths[k], headers, bodies[k])
end
"""


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def write_script(work: Path, name: str, requests: list[tuple[str, str]], token: str | None) -> Path:
    script = work / f"{name}.lua"
    script.write_text(
        LUA_TEMPLATE
        % (
            ", ".join(lua_string(body) for _, body in requests),
            ", ".join(lua_string(path) for path, _ in requests),
            lua_string(f"Bearer {token}") if token else '""',
        )
    )
    return script


def parse_wrk(output: str) -> dict:
    def seconds(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
        return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]

    percentiles = {p: seconds(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M)}
    total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(g) for g in socket_errors.groups()) if socket_errors else 0
    )
    return {
        "requests": total,
        "req_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": round(percentiles["50"] * 1000, 2),
        "p99_ms": round(percentiles["99"] * 1000, 2),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=["playlists", "demo"], default="playlists")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--concurrency", default="1,8,16", help="16: the concurrency the old system was measured at")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: its config)")
    parser.add_argument("--covers", action="store_true", help="keep cover look-ups on (default: off)")
    parser.add_argument(
        "--min-item-users",
        type=int,
        default=1,
        help="catalog filter for the playlist model (1: every song, ~178k; 2: product default, ~60k)",
    )
    args = parser.parse_args()
    if args.data == "playlists":
        require_dataset(PLAYLISTS)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")

    state = ROOT / "var" / "bench" / (args.data if args.data == "demo" else f"{args.data}-min{args.min_item_users}")
    state.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DEBUG": "0",
        "API_SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{state / 'bench.db'}",
        "ARTIFACTS_DIR": str(state / "artifacts"),
        "COVERS_ENABLED": "1" if args.covers else "0",
        "THROTTLE_AUTH_RATE": "1000/minute",
        "BIND": f"127.0.0.1:{PORT}",
    }
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    build_model(args.data, env, work, args.min_item_users)

    with open(work / "gunicorn.log", "w") as log:
        server = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "-c", "spotify_redux/gunicorn.conf.py", "spotify_redux.wsgi"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        health = wait_healthy()
        time.sleep(1.0)
        workers = workers_of(server.pid)
        memory_start = {pid: memory_of(pid) for pid in workers}
        print(f"model {health['model_version']}: {health['songs_indexed']} songs; {len(workers)} workers")

        items = json.loads((Path(env["ARTIFACTS_DIR"]) / "current" / "items.json").read_text())
        rng = random.Random(20261125)
        by_popularity = sorted(range(len(items)), key=lambda r: -items[r]["popularity"])
        head = [items[r]["song_id"] for r in by_popularity[:5000]]

        def pick(k: int) -> list[str]:
            return rng.sample(head, k)

        user = f"bench{secrets.token_hex(4)}"
        token = http_json("POST", "/auth/signup", {"username": user, "password": "bench-password-123"})["access_token"]
        for song in pick(10):
            http_json("POST", "/likes/toggle", {"song_id": song}, token)

        from urllib.parse import urlencode

        scenarios = {
            "cold-start": (
                [
                    ("/recommendations/cold-start", json.dumps({"seeds": pick(rng.randint(3, 5)), "limit": 10}))
                    for _ in range(500)
                ],
                None,
            ),
            "similar": (
                [("/recommendations/similar", json.dumps({"song": pick(1)[0], "limit": 10})) for _ in range(500)],
                None,
            ),
            "similar (signed in)": (
                [("/recommendations/similar", json.dumps({"song": pick(1)[0], "limit": 10})) for _ in range(500)],
                token,
            ),
            "categories": (
                [
                    ("/recommendations/categories?" + urlencode({"seed": pick(1)[0], "limit": 8}), "")
                    for _ in range(500)
                ],
                None,
            ),
            "categories (signed in)": ([("/recommendations/categories?limit=8", "")], token),
            "catalog search": (
                [
                    ("/catalog/search?" + urlencode({"q": s.split(" - ", 1)[-1][:4], "limit": 10}), "")
                    for s in pick(500)
                ],
                None,
            ),
        }

        def wrk(script: Path, concurrency: int, duration_s: int) -> dict:
            threads, connections = str(min(concurrency, 2)), str(concurrency)
            done = subprocess.run(
                ["wrk", "--latency", "-t", threads, "-c", connections, "-d", f"{duration_s}s", "-s", str(script), BASE],
                capture_output=True,
                text=True,
                check=True,
                timeout=duration_s + 60,
            )
            return parse_wrk(done.stdout)

        results = []
        for name, (requests, auth) in scenarios.items():
            script = write_script(work, re.sub(r"\W+", "_", name), requests, auth)
            wrk(script, 2, WARMUP_S)
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                row = {"endpoint": name, "concurrency": concurrency, **wrk(script, concurrency, args.duration)}
                results.append(row)
                print(
                    f"{name:24s} c={concurrency:<3d} {row['req_per_s']:8.1f} req/s  p50 {row['p50_ms']:7.2f} ms"
                    f"  p99 {row['p99_ms']:7.2f} ms  errors {row['errors']}",
                    flush=True,
                )

        memory_end = {pid: memory_of(pid) for pid in workers_of(server.pid)}
        memory = [
            {
                "pid": pid,
                "start": memory_start.get(pid),
                "end": memory_end[pid],
                "rss_growth_mb": round(memory_end[pid]["rss_mb"] - memory_start[pid]["rss_mb"], 1)
                if pid in memory_start
                else None,
            }
            for pid in memory_end
        ]
        master = memory_of(server.pid)
        for row in memory:
            print(
                f"worker {row['pid']}: RSS {row['end']['rss_mb']:.0f} MB (growth under load "
                f"{row['rss_growth_mb']} MB), private {row['end']['private_mb']:.0f} MB"
            )
        print(f"master: RSS {master['rss_mb']:.0f} MB")
        name = "serve-demo" if args.data == "demo" else f"serve-playlists-min{args.min_item_users}"
        out = save_results(
            RESULTS_DIR / f"{name}.json",
            {
                "machine": {"cores": os.cpu_count()},
                "model": health,
                "index": json.loads((Path(env["ARTIFACTS_DIR"]) / "current" / "manifest.json").read_text())["index"],
                "workers": len(workers),
                "duration_s": args.duration,
                "results": results,
                "memory": memory,
                "master_memory": master,
            },
        )
        print(f"saved {out.relative_to(ROOT)}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
