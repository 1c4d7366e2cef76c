"""Serving benchmark: gunicorn with production settings, driven by wrk on loopback.

    .venv/bin/python bench/serve.py                      # full playlist dataset (~178k songs)
    .venv/bin/python bench/serve.py --min-item-users 2   # the product's default catalog (~60k songs)
    .venv/bin/python bench/serve.py --data demo          # the bundled demo data (quick check)
    .venv/bin/python bench/serve.py --data-dir var/default --concurrency 16 --rounds 2 \
        --compare-floor --compare http://127.0.0.1:9000   # a model you trained yourself, side by side

Side by side (``--compare URL``, ``--compare-floor``): every endpoint is run against our server
and against each other server in the same, interleaved rounds (ours, theirs, ours, theirs, ...;
the best round of each is kept), and the ratios are printed: ours / theirs per endpoint, and
every endpoint / our ``/health`` (the floor of this stack) with the serving targets.
``--compare URL`` is any HTTP server with the same API (e.g. the system we replace, deployed as
its docs say); ``--compare-floor`` starts ``bench/floor_app.py`` (FastAPI + uvicorn, 3 workers,
requirements-bench.txt) answering ``/health`` with our JSON, and ``bench/floor_django.py``'s two
floors of our own stack under gunicorn with our worker settings (a plain WSGI function: gunicorn
alone; bare Django with no middleware: the framework), which split the gap to the FastAPI floor.
The machine's other load is not controlled: compare ratios from one run, not absolute figures
across runs.

Builds (once, cached under var/bench/) and publishes a model with the project's own commands
(`train --trials 0`: the default parameters, no search, since only serving speed is measured here;
`--min-item-users 1` by default so every song of the dataset is in the catalog, the scale the
serving targets are set for),
starts gunicorn on 127.0.0.1 with DEBUG=0, then runs wrk at each concurrency for each endpoint
with realistic, varied request bodies (seeds drawn with a fixed seed, uniformly from the 5,000
most popular songs, as onboarding offers popular songs to pick). Each endpoint first gets a short
unmeasured warm-up (page faults, connection set-up). Prints p50/p99 latency, req/s, errors and
per-worker memory (private and shared MB, from /proc/PID/smaps_rollup); saves everything to
bench/results/serve-*.json. Needs `wrk` (Debian package: apt-get install -y wrk). Every request
loop is bounded by --duration; traffic stays on 127.0.0.1.
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
sys.path.insert(0, str(ROOT))

from spotify_redux.workers import DEFAULT_THREADS, DEFAULT_WORKER_CLASS  # noqa: E402

PLAYLISTS = ROOT.parent / "shared" / "datasets" / "spotify-mpd-followed-playlists"
PYTHON = sys.executable
PORT = int(os.environ.get("BENCH_PORT", 8765))
BASE = f"http://127.0.0.1:{PORT}"
WARMUP_S = 2
#: Serving targets at 16 clients (issue 14): minimum req/s as a share of our /health, maximum p99.
TARGETS = {
    "health": (None, 10.0),
    "catalog search": (0.8, 15.0),
    "cold-start": (0.45, 25.0),
    "similar": (0.45, 25.0),
    "categories": (0.2, 60.0),
}
FLOOR_WORKERS = 3


def production_env(*, database: Path, artifacts: Path, bind: str, **extra: str) -> dict[str, str]:
    """The environment every serving benchmark starts gunicorn with: production settings (DEBUG=0,
    a fresh secret), loopback hosts, a SQLite user database, the given artifacts, covers off unless
    ``extra`` says otherwise."""
    return {
        **os.environ,
        "DEBUG": "0",
        "API_SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{database}",
        "ARTIFACTS_DIR": str(artifacts),
        "COVERS_ENABLED": "0",
        "BIND": bind,
        **extra,
    }


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


def wait_healthy(base: str = BASE, deadline_s: float = 120) -> dict:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{base} did not become healthy in time")


def http_json(method: str, path: str, body: dict | None = None, token: str | None = None, base: str = BASE) -> dict:
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def memory_of(pid: int) -> dict[str, float]:
    """RSS, PSS, private (this process only) and shared (with the master and other workers) MB."""
    fields: dict[str, float] = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            if name in {"Rss", "Pss", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty"}:
                fields[name] = int(rest.split()[0]) / 1024
    return {
        "rss_mb": fields["Rss"],
        "pss_mb": fields["Pss"],
        "private_mb": round(fields["Private_Clean"] + fields["Private_Dirty"], 1),
        "shared_mb": round(fields["Shared_Clean"] + fields["Shared_Dirty"], 1),
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


def connections_per_process(port: int) -> dict[str, int] | None:
    """Established client connections on ``port`` per serving process id (``ss``; None without it):
    shows whether the load is spread over the workers (a kept-alive connection stays with one)."""
    try:
        listing = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    pids = re.findall(r"pid=(\d+)", listing)
    return {pid: pids.count(pid) for pid in sorted(set(pids), key=pids.count, reverse=True)}


def popular_song_ids(items: list[dict], n: int = 5000) -> list[str]:
    """The ``n`` most popular songs: where the benchmarks draw seeds (onboarding offers these)."""
    by_popularity = sorted(range(len(items)), key=lambda r: -items[r]["popularity"])
    return [items[r]["song_id"] for r in by_popularity[:n]]


def signed_in_likes(items: list[dict]) -> list[str]:
    """The 10 songs the signed-in scenarios' account likes (drawn with a fixed seed)."""
    return [item["song_id"] for item in random.Random(7).sample(items[: min(len(items), 5000)], min(len(items), 10))]


def build_scenarios(items: list[dict], token_of) -> dict[str, tuple[list[tuple[str, str]], object]]:
    """Request mixes per endpoint: (requests, which bearer token: None or a callable per server)."""
    from urllib.parse import urlencode

    rng = random.Random(20261125)
    head = popular_song_ids(items)

    def pick(k: int) -> list[str]:
        return rng.sample(head, k)

    return {
        "health": ([("/health", "")], None),
        "catalog search": (
            [("/catalog/search?" + urlencode({"q": s.split(" - ", 1)[-1][:4], "limit": 10}), "") for s in pick(500)],
            None,
        ),
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
            token_of,
        ),
        "categories": (
            [("/recommendations/categories?" + urlencode({"seed": pick(1)[0], "limit": 8}), "") for _ in range(500)],
            None,
        ),
        "categories (signed in)": ([("/recommendations/categories?limit=8", "")], token_of),
    }


def signed_in_token(base: str, like: list[str]) -> str | None:
    """A fresh account with 10 likes on the server at ``base``; None if that server refuses."""
    try:
        user = f"bench{secrets.token_hex(4)}"
        token = http_json("POST", "/auth/signup", {"username": user, "password": "bench-password-123"}, base=base)
        for song in like:
            http_json("POST", "/likes/toggle", {"song_id": song}, token["access_token"], base=base)
        return token["access_token"]
    except (OSError, KeyError, ValueError) as exc:
        print(f"{base}: no signed-in scenarios ({exc})")
        return None


def wrk_command(base: str, script: Path, concurrency: int, duration_s: int) -> list[str]:
    """wrk at ``concurrency`` connections (at most 2 threads: the machine's other core serves)."""
    threads, connections = str(min(concurrency, 2)), str(concurrency)
    return ["wrk", "--latency", "-t", threads, "-c", connections, "-d", f"{duration_s}s", "-s", str(script), base]


def run_wrk(base: str, script: Path, concurrency: int, duration_s: int) -> dict:
    done = subprocess.run(
        wrk_command(base, script, concurrency, duration_s),
        capture_output=True,
        text=True,
        check=True,
        timeout=duration_s + 60,
    )
    return parse_wrk(done.stdout)


def run_wrk_noting_spread(port: int, script: Path, concurrency: int, duration_s: int, warmup_s: int) -> dict:
    """A warm-up run, then a measured one (``parse_wrk``'s figures) plus how many connections each
    worker held halfway through it (``connections_per_worker``, largest first; None without ss)."""
    base = f"http://127.0.0.1:{port}"
    subprocess.run(wrk_command(base, script, concurrency, warmup_s), capture_output=True, check=True)
    running = subprocess.Popen(wrk_command(base, script, concurrency, duration_s), stdout=subprocess.PIPE, text=True)
    time.sleep(duration_s / 2)
    spread = connections_per_process(port)
    result = parse_wrk(running.communicate()[0])
    result["connections_per_worker"] = sorted(spread.values(), reverse=True) if spread else None
    return result


def start_floor(work: Path, health: dict, port: int) -> subprocess.Popen:
    """bench/floor_app.py under uvicorn (FLOOR_WORKERS workers), answering /health with ``health``."""
    uvicorn = Path(PYTHON).parent / "uvicorn"
    if not uvicorn.exists():
        raise SystemExit("--compare-floor needs the bench dependencies: pip install -r requirements-bench.txt")
    env = {**os.environ, "FLOOR_HEALTH_JSON": json.dumps(health)}
    command = [str(uvicorn), "--app-dir", str(ROOT / "bench"), "floor_app:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(FLOOR_WORKERS), "--log-level", "warning", "--no-access-log"]
    with open(work / "floor.log", "w") as log:
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)


#: The servers --compare-floor starts; they answer /health only.
FLOORS = ("floor", "django floor", "wsgi floor")


def gunicorn_floor_flags(env: dict[str, str], workers: int) -> list[str]:
    """Our server's worker settings, read the way spotify_redux/gunicorn.conf.py reads them (same
    variables, same defaults), for the gunicorn floors: the same worker class, workers, threads
    and keep-alive, and the app loaded before forking."""
    return [
        "--worker-class",
        env.get("GUNICORN_WORKER_CLASS", DEFAULT_WORKER_CLASS),
        "--threads",
        env.get("GUNICORN_THREADS", str(DEFAULT_THREADS)),
        "--workers",
        str(workers),
        "--keep-alive",
        "5",
        "--preload",
    ]


def start_gunicorn_floor(work: Path, health: dict, port: int, app: str, flags: list[str]) -> subprocess.Popen:
    """``bench/floor_django.py``'s ``app`` (``wsgi_floor`` or ``django_floor``) under gunicorn with
    ``flags``, answering /health with ``health``."""
    env = {**os.environ, "FLOOR_HEALTH_JSON": json.dumps(health)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # The project root on the path for our worker class only (spotify_redux.workers imports gunicorn alone).
    command = [str(Path(PYTHON).parent / "gunicorn"), "--chdir", str(ROOT / "bench"), "--pythonpath", str(ROOT)]
    command.append(f"floor_django:{app}")
    command += ["--bind", f"127.0.0.1:{port}", *flags]
    with open(work / f"{app}.log", "w") as log:
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def best_of(rounds: list[dict]) -> dict:
    """The round with the most req/s (the least disturbed by the machine's other load)."""
    return max(rounds, key=lambda row: row["req_per_s"])


def print_side_by_side(table: dict, servers: list[str], concurrency: int) -> list[dict]:
    """Per endpoint: ours vs each other server (ratio ours/theirs), and ours vs our /health."""
    rows = []
    ours_health = table.get(("ours", "health", concurrency))
    print(f"\n== {concurrency} clients, best of the interleaved rounds ==")
    for name in dict.fromkeys(key[1] for key in table):
        ours = table.get(("ours", name, concurrency))
        if ours is None:
            continue
        line = f"{name:24s} ours {ours['req_per_s']:8.1f} req/s p99 {ours['p99_ms']:7.2f} ms err {ours['errors']}"
        row = {"endpoint": name, "concurrency": concurrency, "ours": ours}
        for server in servers[1:]:
            theirs = table.get((server, name, concurrency))
            if theirs is None:
                continue
            ratio = ours["req_per_s"] / theirs["req_per_s"] if theirs["req_per_s"] else float("inf")
            line += f" | {server}: {theirs['req_per_s']:8.1f} req/s p99 {theirs['p99_ms']:7.2f} ms -> {ratio:5.2f}x"
            row[server] = {**theirs, "ours_over_theirs": round(ratio, 3)}
        if ours_health and name != "health":
            share = ours["req_per_s"] / ours_health["req_per_s"]
            row["share_of_our_health"] = round(share, 3)
            line += f" | {share:4.2f}x our /health"
        base_name = name.split(" (")[0]
        if concurrency == 16 and base_name in TARGETS:
            min_share, max_p99 = TARGETS[base_name]
            met = ours["errors"] == 0 and ours["p99_ms"] <= max_p99
            if min_share is not None and "share_of_our_health" in row:
                met = met and row["share_of_our_health"] >= min_share
            row["target"] = {"min_share_of_health": min_share, "max_p99_ms": max_p99, "met": met}
            line += f" | target {'' if min_share is None else f'>= {min_share}x, '}p99 <= {max_p99} ms: "
            line += "met" if met else "NOT met"
        print(line, flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=["playlists", "demo"], default="playlists")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="serve the model already published under this DATA_DIR (its users.db and artifacts/), e.g. one "
        "`manage.py train --data ...` + `build_index` made with no flags; default: build one under var/bench/",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--concurrency", default="1,8,16", help="16: the concurrency the old system was measured at")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds per endpoint; the best is kept")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: its config)")
    parser.add_argument("--covers", action="store_true", help="keep cover look-ups on (default: off)")
    parser.add_argument("--compare", action="append", default=[], metavar="URL", help="another server, same API")
    parser.add_argument("--compare-floor", action="store_true", help="also run bench/floor_app.py (FastAPI /health)")
    parser.add_argument("--name", default=None, help="results file: bench/results/serve-<name>.json")
    parser.add_argument("--only", default=None, help="comma-separated endpoints to run (default: all)")
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
        raise SystemExit("wrk is not installed: apt-get install -y wrk (Debian/Ubuntu; brew install wrk on macOS)")

    if args.data_dir:
        state = args.data_dir.resolve()
    else:
        state = ROOT / "var" / "bench" / (args.data if args.data == "demo" else f"{args.data}-min{args.min_item_users}")
    state.mkdir(parents=True, exist_ok=True)
    env = production_env(
        database=state / ("users.db" if args.data_dir else "bench.db"),
        artifacts=state / "artifacts",
        bind=f"127.0.0.1:{PORT}",
        COVERS_ENABLED="1" if args.covers else "0",
        THROTTLE_AUTH_RATE="1000/minute",
    )
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    if args.data_dir:
        if not (state / "artifacts" / "current").exists():
            raise SystemExit(f"no model under {state}: run manage.py train + build_index with DATA_DIR={state}")
        run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    else:
        build_model(args.data, env, work, args.min_item_users)

    with open(work / "gunicorn.log", "w") as log:
        gunicorn = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "-c", "spotify_redux/gunicorn.conf.py", "spotify_redux.wsgi"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    floors: list[subprocess.Popen] = []
    try:
        health = wait_healthy()
        workers = workers_of(gunicorn.pid)
        bases = {"ours": BASE, **{url: url.rstrip("/") for url in args.compare}}
        if args.compare_floor:
            floors.append(start_floor(work, health, PORT + 1))
            bases["floor"] = f"http://127.0.0.1:{PORT + 1}"
            flags = gunicorn_floor_flags(env, len(workers))
            for offset, app in ((2, "django_floor"), (3, "wsgi_floor")):
                floors.append(start_gunicorn_floor(work, health, PORT + offset, app, flags))
                bases[app.replace("_", " ")] = f"http://127.0.0.1:{PORT + offset}"
        for base in bases.values():
            wait_healthy(base)
        time.sleep(1.0)
        memory_start = {pid: memory_of(pid) for pid in workers}
        print(f"model {health['model_version']}: {health['songs_indexed']} songs; {len(workers)} workers")

        items = json.loads((Path(env["ARTIFACTS_DIR"]) / "current" / "items.json").read_text())
        likes = signed_in_likes(items)
        tokens = {name: signed_in_token(base, likes) for name, base in bases.items() if name not in FLOORS}
        scenarios = build_scenarios(items, tokens.get)
        if args.only:
            scenarios = {name: scenarios[name] for name in args.only.split(",")}
        servers = list(bases)

        concurrencies = [int(c) for c in args.concurrency.split(",")]
        measured: dict[tuple[str, str, int], list[dict]] = {}
        for name, (requests, token_of) in scenarios.items():
            scripts = {}
            for server in servers:
                if server in FLOORS and name != "health":
                    continue
                token = token_of(server) if token_of else None
                if token_of and token is None:
                    continue
                scripts[server] = write_script(work, re.sub(r"\W+", "_", f"{server}_{name}"), requests, token)
                run_wrk(bases[server], scripts[server], 2, WARMUP_S)
            for concurrency in concurrencies:
                for round_ in range(args.rounds):
                    for server, script in scripts.items():
                        row = run_wrk(bases[server], script, concurrency, args.duration)
                        measured.setdefault((server, name, concurrency), []).append(row)
                        print(
                            f"{server[:24]:24s} {name:24s} c={concurrency:<3d} round {round_ + 1}: "
                            f"{row['req_per_s']:8.1f} req/s  p50 {row['p50_ms']:7.2f} ms  p99 {row['p99_ms']:7.2f} ms"
                            f"  errors {row['errors']}",
                            flush=True,
                        )

        table = {key: best_of(rows) for key, rows in measured.items()}
        side_by_side = [row for c in concurrencies for row in print_side_by_side(table, servers, c)]
        results = [
            {"server": server, "endpoint": name, "concurrency": c, "rounds": rows, **best_of(rows)}
            for (server, name, c), rows in measured.items()
        ]

        memory_end = {pid: memory_of(pid) for pid in workers_of(gunicorn.pid)}
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
        master = memory_of(gunicorn.pid)
        print()
        for row in memory:
            print(
                f"worker {row['pid']}: RSS {row['end']['rss_mb']:.0f} MB (growth under load {row['rss_growth_mb']} MB),"
                f" private {row['end']['private_mb']:.0f} MB, shared {row['end']['shared_mb']:.0f} MB"
            )
        print(f"master: RSS {master['rss_mb']:.0f} MB, private {master['private_mb']:.0f} MB")
        if args.name:
            name = args.name
        elif args.data_dir:
            name = f"{args.data_dir.name}-{health['songs_indexed']}"
        else:
            name = "demo" if args.data == "demo" else f"playlists-min{args.min_item_users}"
        out = save_results(
            RESULTS_DIR / f"serve-{name}.json",
            {
                "machine": {"cores": os.cpu_count(), "load_average_at_end": os.getloadavg()},
                "model": health,
                "index": json.loads((Path(env["ARTIFACTS_DIR"]) / "current" / "manifest.json").read_text())["index"],
                "workers": len(workers),
                "servers": bases,
                "duration_s": args.duration,
                "rounds": args.rounds,
                "side_by_side": side_by_side,
                "results": results,
                "memory": memory,
                "master_memory": master,
            },
        )
        print(f"saved {out.relative_to(ROOT)}")
    finally:
        stop(gunicorn)
        for process in floors:
            stop(process)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
