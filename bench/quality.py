"""Quality benchmark: the served two-stage recommender vs popularity, item-kNN, RP3beta, EASE.

Protocol (also in ml/README.md), repeated for 5 split seeds:
  * users (playlists, or listeners) split at random: 10% test, 10% validation, 80% train;
  * the product recipe exactly as `manage.py train --data FILE` runs it (`ml.pipeline.fit_split`):
    SVD search on validation users scored by next-song HitRate@10 (trial 0 = the defaults), item
    graph, the re-ranker fitted on validation users, final SVD + graph on train + validation;
  * the baselines on the same training matrix, the same test cases, in the same run;
  * next-song: per test user with >= 6 catalog songs one song held out at random, 5 other random
    songs as seeds; HitRate@10, MRR@10, NDCG@10 of that song over the whole catalog;
  * all-remaining: 5 random seeds, the user's other catalog songs relevant; HitRate@10, NDCG@10,
    Recall@50, coverage@10;
  * the two-stage rows per scorer (svd, graph, blend, ranker), raw (by score) and served (MMR
    lambda 0.8, at most 2 songs per artist, seeds excluded: the API's code, `ml.served`).

    .venv/bin/python bench/quality.py [--data DIR|FILE] [--hetrec] [--seeds 0 1 2 3 4] [--trials 6]

`--hetrec` reads ../shared/datasets/hetrec2011-lastfm-2k/user_artists.dat with the artist as the
item (converted to a user,item,plays triplet file in a temporary directory).
Prints a table per seed and the mean +- std, and saves everything to bench/results/.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from _datasets import require_dataset
from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # per-request matrix products are small; threads only spin
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from ml.evaluation import COLUMNS, format_report
from ml.pipeline import DEFAULT_TIMEOUT_S, DEFAULT_TRIALS, TrainConfig, fit_split
from ml.readers import read_interactions

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PLAYLISTS = DATASETS / "spotify-mpd-followed-playlists"
HETREC = DATASETS / "hetrec2011-lastfm-2k"
#: The issue's targets: served product / item-kNN per protocol and metric.
TARGETS = {
    "next_song": {"hit_rate@10": 1.15},
    "all_remaining": {"hit_rate@10": 1.05, "ndcg@10": 1.05, "recall@50": 1.05, "coverage@10": 1.0},
}
HETREC_TARGETS = {"next_song": {"hit_rate@10": 1.0}}


def hetrec_triplets(folder: Path, out: Path) -> Path:
    """user_artists.dat (userID, artistID, weight) -> user,item,plays with the artist's name as item."""
    names = {}
    with open(folder / "artists.dat", encoding="utf-8", errors="replace") as handle:
        next(handle)
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            names[parts[0]] = parts[1]
    with open(folder / "user_artists.dat", encoding="utf-8") as source, open(out, "w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["user", "item", "plays"])
        next(source)
        for line in source:
            user, artist, weight = line.split()
            writer.writerow([f"u{user}", names.get(artist, f"artist {artist}"), weight])
    return out


def run_seed(data, seed: int, trials: int, timeout_s: float) -> dict:
    started = time.perf_counter()
    config = TrainConfig(
        data=Path(data.source["path"]), out=Path("/dev/null"), seed=seed, trials=trials, timeout_s=timeout_s
    )
    fit = fit_split(data, config=config)
    return {
        "seed": seed,
        "report": fit.report.to_dict(),
        "product": fit.report.product,
        "svd_params": fit.params.to_dict(),
        "search": None if fit.search is None else {"best_value": fit.search.best_value, "trials": fit.search.trials},
        "scorer": {
            **fit.scorer_fit.scorer.describe(),
            "blend_weights": fit.scorer_fit.blend.weights,
            "validation": fit.scorer_fit.validation,
            "counts": fit.scorer_fit.counts,
        },
        "graph_edges": fit.graph.nnz,
        "catalog_items": fit.train.n_items,
        "train_users": fit.train.n_users,
        "test_users": fit.report.cases,
        "timings": fit.timings,
        "seconds": round(time.perf_counter() - started, 1),
    }


def summarise(runs: list[dict]) -> dict:
    summary: dict = {}
    for protocol, columns in COLUMNS.items():
        methods = runs[0]["report"]["results"][protocol].keys()
        summary[protocol] = {}
        for method in methods:
            summary[protocol][method] = {}
            for column in columns:
                values = [r["report"]["results"][protocol][method].get(column) for r in runs]
                values = [v for v in values if isinstance(v, float)]
                if values:
                    summary[protocol][method][column] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    return summary


def ratios(runs: list[dict], targets: dict) -> dict:
    """Served product / baseline per seed for every target metric (and vs RP3beta on next-song)."""
    out: dict = {}
    for protocol, metrics in targets.items():
        for metric, bar in metrics.items():
            for baseline in ("item_knn", "rp3beta"):
                per_seed = []
                for run in runs:
                    table = run["report"]["results"][protocol]
                    product = table[f"{run['product']} served"][metric]
                    base = table[baseline][metric]
                    per_seed.append(product / base if base else float("nan"))
                out[f"{protocol} {metric} / {baseline}"] = {
                    "mean": float(np.mean(per_seed)),
                    "per_seed": [round(x, 3) for x in per_seed],
                    "target": bar if baseline == "item_knn" else 1.0 if protocol == "next_song" else None,
                }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=PLAYLISTS)
    parser.add_argument("--hetrec", action="store_true", help="the Last.fm hetrec artists data (artist = item)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help="search trials (product default)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--merge", type=Path, nargs="+", default=None, help="summarise result files of runs over other seeds"
    )
    args = parser.parse_args()
    if args.merge:
        merge(args.merge, args.out or RESULTS_DIR / "quality.json")
        return
    require_dataset(HETREC if args.hetrec else args.data)
    import faiss

    faiss.omp_set_num_threads(1)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        path = hetrec_triplets(HETREC, Path(scratch) / "hetrec.csv") if args.hetrec else args.data
        data = read_interactions(path)
        data.source["path"] = str(HETREC if args.hetrec else args.data)
    name = "hetrec" if args.hetrec else Path(args.data).name
    out = args.out or RESULTS_DIR / ("quality.json" if name == PLAYLISTS.name else f"quality_{name}.json")
    targets = HETREC_TARGETS if args.hetrec else TARGETS
    print(f"{data.source['rows']} rows, {data.n_users} users, {data.n_items} items ({data.n_pairs} pairs)", flush=True)
    runs = []
    for seed in args.seeds:
        run = run_seed(data, seed, args.trials, args.timeout)
        runs.append(run)
        print(
            f"\nseed {seed}: {run['test_users']} test users, {run['catalog_items']} catalog items, {run['seconds']}s "
            f"({run['timings']}); SVD {run['svd_params']}; scorer {run['scorer']['kind']} "
            f"(validation {run['scorer']['validation']})"
        )
        from ml.evaluation import EvaluationReport

        print(format_report(EvaluationReport.from_dict(run["report"])), flush=True)

    document = {
        "data": {k: data.source[k] for k in ("path", "format", "sha256", "rows")},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "protocol": __doc__.split("repeated for 5 split seeds:")[1].split("    .venv")[0],
        "seeds": args.seeds,
        "trials": args.trials,
        "targets": targets,
        "runs": runs,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    report_summary(document)
    save_results(out, document)
    print(f"Saved {out}")


def merge(paths: list[Path], out: Path) -> None:
    """One document from runs saved by several processes (seeds split between them)."""
    import json

    documents = [json.loads(Path(p).read_text()) for p in paths]
    document = {**documents[0], "runs": sorted((r for d in documents for r in d["runs"]), key=lambda r: r["seed"])}
    document["seeds"] = [r["seed"] for r in document["runs"]]
    document["total_seconds"] = max(d["total_seconds"] for d in documents)
    document["merged_from"] = [str(p) for p in paths]
    report_summary(document)
    save_results(out, document)
    print(f"Saved {out}")


def report_summary(document: dict) -> None:
    """Mean +- std per method and the served product's ratios to the baselines (into ``document``)."""
    runs = document["runs"]
    summary = summarise(runs)
    ratio_table = ratios(runs, document["targets"])
    document["summary"], document["ratios"] = summary, ratio_table
    print(f"\nMean +- std over seeds {document['seeds']}:")
    for protocol, methods in summary.items():
        columns = COLUMNS[protocol]
        print(f"\n{protocol}\n{'method':<18}" + "".join(f"{c:>18}" for c in columns))
        for method, cells in methods.items():
            print(
                f"{method:<18}"
                + "".join(
                    f"{cells[c]['mean']:>10.4f}±{cells[c]['std']:.4f}" if c in cells else f"{'n/a':>18}"
                    for c in columns
                )
            )
    print("\nServed product / baseline (mean over seeds; per seed):")
    for key, value in ratio_table.items():
        bar = f" (target >= {value['target']})" if value["target"] else ""
        print(f"  {key}: {value['mean']:.3f}{bar}  {value['per_seed']}")


if __name__ == "__main__":
    main()
