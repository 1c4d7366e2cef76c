"""Training on big synthetic data: where does one machine stop?

    .venv/bin/python bench/big_train.py [--rows 1000000 5000000] [--users 50000] [--songs 200000]

For each size, writes a Last.fm-format scrobble file with the project's generator
(``bench/read.py``'s ``write_scrobbles``: Zipf song popularity, one row per play), then runs what
``manage.py train --data FILE`` (no flags: the whole two-stage product, SVD + item graph + re-ranker,
then both evaluation protocols) and
``manage.py build_index`` run, in a fresh process per size so each peak RSS is its own. A sampler
thread reads VmRSS every 0.2 s; each phase's peak is the highest sample between its start and
end. Prints wall time and peak RSS per phase, saves bench/results/big_train.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs
from read import write_scrobbles

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, threading, time
from pathlib import Path
sys.path.insert(0, {root!r})

def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

marks = []  # (phase label, monotonic start)
peaks = {{}}
current = ["start"]
stop = threading.Event()

def sample():
    while not stop.is_set():
        label = current[0]
        peaks[label] = max(peaks.get(label, 0.0), rss_mb())
        time.sleep(0.2)

def phase(label):
    current[0] = label
    marks.append((label, time.perf_counter()))

threading.Thread(target=sample, daemon=True).start()
import faiss
faiss.omp_set_num_threads(2)
from ml.pipeline import TrainConfig, build_version_index, train_model

def notify(message):
    print("  " + message, flush=True)
    lowered = message.lower()
    if lowered.startswith("read "):
        phase("split+search")
    elif "final" in lowered or lowered.startswith("fitting") or lowered.startswith("fit "):
        phase("fit+evaluate+write")

started = time.perf_counter()
phase("read")
result = train_model(TrainConfig(data=Path({data!r}), out=Path({out!r})), notify=notify)
train_s = time.perf_counter() - started
phase("build_index")
t0 = time.perf_counter()
_, info, _ = build_version_index(Path({out!r}), result.version)
index_s = time.perf_counter() - t0
phase("done")
time.sleep(0.3)
stop.set()
manifest = result.manifest
print(json.dumps({{
    "data": {{k: manifest["data"][k] for k in ("rows", "users", "songs", "pairs")}},
    "catalog_songs": manifest["counts"]["items"],
    "interactions": manifest["counts"]["interactions"],
    "negatives": manifest["counts"]["negatives"],
    "phases_s": {{**result.timings, "build_index_s": round(index_s, 2)}},
    "train_command_s": round(train_s, 1),
    "total_s": round(time.perf_counter() - started, 1),
    "peak_rss_mb_by_phase": {{k: round(v) for k, v in peaks.items() if k != "done"}},
    "search": manifest.get("search") and {{k: manifest["search"][k] for k in ("seconds", "best_value")}},
    "search_trials_finished": manifest.get("search") and len(manifest["search"]["trials"]),
    "index": {{k: info.get(k) for k in ("kind", "ntotal", "build_seconds", "recall_at_10", "recall_at_10_popular")}},
    "test_metrics": manifest["metrics"]["test"],
}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--songs", type=int, default=200_000)
    parser.add_argument("--note", default="", help="what else ran on the machine (saved with the results)")
    args = parser.parse_args()
    # Sizes measured earlier stay in the results file (each with its own note); a size run again
    # replaces its old entry.
    path = RESULTS_DIR / "big_train.json"
    earlier = json.loads(path.read_text())["runs"] if path.exists() else []
    runs = [run for run in earlier if run["rows_requested"] not in args.rows]
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="bench-big-train-") as tmp:
            data = Path(tmp) / f"scrobbles_{rows}.csv"
            write_scrobbles(data, rows, users=args.users, songs=args.songs)
            out = Path(tmp) / "artifacts"
            print(f"== {rows:,} rows ({data.stat().st_size / 2**20:.0f} MB)", flush=True)
            env = {**os.environ, "OMP_NUM_THREADS": "2"}
            done = subprocess.run(
                [sys.executable, "-c", CHILD.format(root=str(ROOT), data=str(data), out=str(out))],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                check=True,
            )
            lines = done.stdout.strip().splitlines()
            print("\n".join(lines[:-1]))
            run = {
                "rows_requested": rows,
                "file_mb": round(data.stat().st_size / 2**20),
                "note": args.note,
                **json.loads(lines[-1]),
            }
        runs.append(run)
        print(json.dumps({k: run[k] for k in ("phases_s", "total_s", "peak_rss_mb_by_phase")}), flush=True)
        # Saved after every size, so a long run that is stopped keeps what it measured.
        runs.sort(key=lambda run: run["rows_requested"])
        save_results(path, {"machine": {"cpus": os.cpu_count()}, "runs": runs})


if __name__ == "__main__":
    main()
