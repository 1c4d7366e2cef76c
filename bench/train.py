"""Speed and memory benchmark of the training pipeline, phase by phase.

    .venv/bin/python bench/train.py [--data PATH] [--trials 0] [--min-item-users 2] [--name playlists]

Runs what `manage.py train --data PATH --trials N` then `manage.py build_index` run (without the
catalog write, which needs a database): read -> split -> [SVD search] -> stage-1 SVD + item graph
on the training users -> re-ranker on validation users -> final SVD + graph -> test evaluation
(both protocols, every baseline) -> write artifacts -> FAISS index. --trials 0 is the product
default (the budget: <= 10 minutes, peak RSS <= 4 GB on the playlist data on 2 cores); --trials 6
adds the opt-in search. Prints the figures and saves them to bench/results/train_<name>.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from _datasets import require_dataset
from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs

os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.pipeline import DEFAULT_TIMEOUT_S, TrainConfig, build_version_index, train_model

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "spotify-mpd-followed-playlists"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATASET)
    parser.add_argument("--format", default=None)
    parser.add_argument("--trials", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--min-item-users", type=int, default=2, help="catalog filter (2: product default; 1: every song, HNSW index)"
    )
    parser.add_argument("--name", default=None, help="results file suffix (default: data name + trials)")
    args = parser.parse_args()
    require_dataset(args.data)
    import faiss

    faiss.omp_set_num_threads(2)
    name = args.name or f"{args.data.stem}_trials{args.trials}" + (
        f"_min{args.min_item_users}" if args.min_item_users != 2 else ""
    )
    with tempfile.TemporaryDirectory(prefix="bench-train-") as root:
        started = time.perf_counter()
        result = train_model(
            TrainConfig(
                data=args.data,
                out=Path(root),
                fmt=args.format,
                trials=args.trials,
                timeout_s=args.timeout,
                seed=args.seed,
                min_item_users=args.min_item_users,
            ),
            notify=lambda message: print(f"  {message}", flush=True),
        )
        train_seconds = time.perf_counter() - started
        t0 = time.perf_counter()
        _, index_info, _ = build_version_index(Path(root), result.version)
        index_seconds = time.perf_counter() - t0
        total = time.perf_counter() - started
        manifest = result.manifest
    phases = {**result.timings, "build_index_s": round(index_seconds, 2)}
    document = {
        "data": {k: manifest["data"][k] for k in ("path", "format", "rows", "users", "songs", "pairs")},
        "counts": manifest["counts"],
        "params": manifest["params"],
        "index": index_info,
        "phases_s": phases,
        "train_command_s": round(train_seconds, 2),
        "total_s": round(total, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "test_metrics": manifest["metrics"]["test"],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    print(f"\nData: {document['data']['rows']} rows, {document['counts']['items']} catalog songs")
    for phase, seconds in phases.items():
        print(f"  {phase.removesuffix('_s'):<12} {seconds:8.2f} s")
    print(f"  {'total':<12} {total:8.2f} s   (budget: 600 s)")
    print(f"  peak RSS     {document['peak_rss_mb']:8.1f} MB (budget: 4096 MB)")
    out = save_results(RESULTS_DIR / f"train_{name}.json", document)
    print(f"Saved {out}")


if __name__ == "__main__":
    main()
