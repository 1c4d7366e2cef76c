"""gunicorn worker settings side by side on one published model: every server up at once,
interleaved rounds of wrk at 16 clients, connections per worker noted.

    .venv/bin/python bench/worker_configs.py --artifacts var/bench/big-1000000x256/artifacts \\
        "plain gthread 3x4:GUNICORN_WORKER_CLASS=gthread,WEB_CONCURRENCY=3,GUNICORN_THREADS=4" \\
        "default:" [--rounds 3] [--duration 8] [--name 1M]

Each argument is ``label:VAR=value,...``: environment overrides for that server (empty = the
product's defaults from spotify_redux/gunicorn.conf.py). ``CHECKOUT=DIR`` is not passed on: that
server runs the code and gunicorn.conf.py of another checkout of the project (e.g. ``git worktree
add ../before HEAD~3``) with this one's virtualenv, so two versions of the code are measured side
by side on the same model. Every server loads the model itself, so
the host needs the model's memory once per server (3.4 GB at 1M songs). Seeds come from the 5,000
most popular songs (bench/big_serve.py's request mixes). Saves bench/results/worker-configs-<name>.json with
every round and the medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs
from big_serve import median_of_rounds, request_mixes
from serve import PYTHON, ROOT, production_env, run_wrk_noting_spread, write_script

FIRST_PORT = 8440
WARMUP_S = 2


def parse_config(text: str) -> tuple[str, dict[str, str]]:
    label, _, assignments = text.partition(":")
    overrides = dict(item.split("=", 1) for item in assignments.split(",") if item)
    return label, overrides


def start(work: Path, artifacts: Path, port: int, overrides: dict[str, str]) -> subprocess.Popen:
    overrides = dict(overrides)
    checkout = Path(overrides.pop("CHECKOUT", ROOT)).resolve()
    env = production_env(
        database=work / f"{port}.db",
        artifacts=artifacts,
        bind=f"127.0.0.1:{port}",
        GUNICORN_TIMEOUT_S="300",
        GUNICORN_CONTROL_SOCKET="off",
        **overrides,
    )
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, cwd=checkout, check=True)
    gunicorn = str(Path(PYTHON).parent / "gunicorn")
    with open(work / f"{port}.log", "w") as log:
        return subprocess.Popen(
            [gunicorn, "-c", "spotify_redux/gunicorn.conf.py", "spotify_redux.wsgi"],
            env=env,
            cwd=checkout,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def wait_healthy(port: int, server: subprocess.Popen, work: Path) -> None:
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                return
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"server on {port} exited; see {work / f'{port}.log'}") from None
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="+", help="label:VAR=value,... (empty overrides = the defaults)")
    parser.add_argument("--artifacts", required=True, help="an artifacts directory with a published model")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--name", default="run")
    args = parser.parse_args()
    artifacts = Path(args.artifacts).resolve()
    configs = [parse_config(text) for text in args.configs]
    work = Path(tempfile.mkdtemp(prefix="bench-worker-configs-"))
    servers = [
        (label, overrides, FIRST_PORT + i, start(work, artifacts, FIRST_PORT + i, overrides))
        for i, (label, overrides) in enumerate(configs)
    ]
    rounds: dict[str, dict[str, list[dict]]] = {label: {} for label, _ in configs}
    try:
        for _, _, port, server in servers:
            wait_healthy(port, server, work)
        scripts = {
            endpoint: write_script(work, endpoint.replace("-", "_"), requests, None)
            for endpoint, requests in request_mixes(artifacts).items()
        }
        for number in range(args.rounds):
            for label, _, port, _ in servers:
                for endpoint, script in scripts.items():
                    result = run_wrk_noting_spread(port, script, args.concurrency, args.duration, WARMUP_S)
                    rounds[label].setdefault(endpoint, []).append(result)
                    print(f"round {number} {label:28s} {endpoint:10s} {json.dumps(result)}", flush=True)
    finally:
        for *_, server in servers:
            server.terminate()
        for *_, server in servers:
            server.wait(timeout=60)
    medians = {
        label: {endpoint: median_of_rounds(results) for endpoint, results in by_endpoint.items()}
        for label, by_endpoint in rounds.items()
    }
    print("\nmedians over rounds:")
    for label, by_endpoint in medians.items():
        for endpoint, row in by_endpoint.items():
            print(f"  {label:28s} {endpoint:10s} {json.dumps(row)}")
    out = save_results(
        RESULTS_DIR / f"worker-configs-{args.name}.json",
        {
            "artifacts": str(artifacts),
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "configs": dict(configs),
            "rounds": rounds,
            "medians": medians,
        },
    )
    print(f"saved {out}")


if __name__ == "__main__":
    main()
