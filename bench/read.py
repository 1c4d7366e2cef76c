"""Reader memory benchmark: does a 20M-row scrobble file read in memory bounded by distinct pairs?

    .venv/bin/python bench/read.py [--rows 20000000] [--users 50000] [--songs 200000]

Writes a synthetic Last.fm-format file (Zipf song popularity, one row per play) into a temporary
directory, then reads it with ``ml.readers.read_interactions`` in a fresh process per size (so
each peak RSS is its own) at 1/10 of the rows and at all of them. Prints rows, distinct pairs,
seconds and peak RSS; saves bench/results/read.json. The file is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs

ROOT = Path(__file__).resolve().parent.parent
RESULTS = RESULTS_DIR / "read.json"

MEASURE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from ml.readers import read_interactions
started = time.perf_counter()
data = read_interactions({path!r})
print(json.dumps({{
    "rows": data.source["rows"], "users": data.n_users, "songs": data.n_items, "pairs": data.n_pairs,
    "seconds": round(time.perf_counter() - started, 1),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
}}))
"""


def write_scrobbles(path: Path, rows: int, *, users: int, songs: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with path.open("w") as out:
        out.write("Username,Artist,Track,Album,Date,Time\n")
        written = 0
        while written < rows:
            n = min(1_000_000, rows - written)
            user = rng.integers(0, users, n).tolist()
            song = (rng.zipf(1.3, n) % songs).tolist()
            out.writelines(
                f"user{u},Artist {s // 8},Track {s},Album,01 Jan 2026,12:00\n" for u, s in zip(user, song, strict=True)
            )
            written += n


def measure(path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE.format(root=str(ROOT), path=str(path))],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--songs", type=int, default=200_000)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-read-") as tmp:
        for rows in (args.rows // 10, args.rows):
            path = Path(tmp) / f"scrobbles_{rows}.csv"
            write_scrobbles(path, rows, users=args.users, songs=args.songs)
            run = {"file_mb": round(path.stat().st_size / 2**20), **measure(path)}
            path.unlink()
            runs.append(run)
            print(
                f"{run['rows']:>11,} rows ({run['file_mb']} MB): {run['pairs']:,} distinct pairs, "
                f"{run['songs']:,} songs, {run['seconds']} s, peak RSS {run['peak_rss_mb']} MB",
                flush=True,
            )
    save_results(RESULTS, {"machine": {"cpus": os.cpu_count()}, "runs": runs})
    print(f"Saved {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
