"""Quality benchmark: SVD with sampled negatives vs item-kNN vs popularity vs the old recipe.

Protocol (also in ml/README.md), repeated for 5 split seeds:
  * playlists (= users) split at random: 10% test, 10% validation, 80% train;
  * the product recipe (`manage.py train` defaults: search on validation users, trial 0 = the
    defaults, then a final fit on train + validation) gives the SVD;
  * the old recipe: Surprise SVD on observed pairs only (no negatives), its parameters chosen by
    RMSE on 20% of the training ratings held out (as the old system was tuned), fitted on the same
    training matrix and served the same way;
  * item-kNN (sum of cosines over the binary co-occurrence matrix) and popularity on the same
    training matrix;
  * every test playlist with >= 6 catalog songs: 5 random seed songs, all other catalog songs
    ranked, the playlist's remaining catalog songs are relevant: HitRate@10, NDCG@10, Recall@50,
    coverage@10, RMSE/MAE.

    .venv/bin/python bench/quality.py [--data DIR] [--seeds 0 1 2 3 4] [--trials 6]

Prints a table per seed and the mean +- std, and saves everything to bench/results/quality.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from _datasets import require_dataset
from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs

os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from surprise import SVD

from ml.baselines import VectorRanker
from ml.evaluate import evaluate_rankers, svd_rating_predictions
from ml.pipeline import DEFAULT_TIMEOUT_S, DEFAULT_TRIALS, TrainConfig, fit_and_evaluate_split
from ml.readers import read_interactions
from ml.recommend import serving_vectors
from ml.split import UserItemMatrix, rating_from_plays
from ml.train import OLD_RECIPE_PARAMS, SVDParams, build_trainset, fit_svd

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "spotify-mpd-followed-playlists"
RESULTS = RESULTS_DIR / "quality.json"
METHODS = ("svd", "item_knn", "popularity", "old_recipe")
COLUMNS = ("hit_rate@10", "ndcg@10", "recall@50", "coverage@10", "rmse", "mae")

# The old system's tuning: a small grid around Surprise's defaults, chosen by RMSE.
OLD_RECIPE_GRID = [
    OLD_RECIPE_PARAMS.replace(n_factors=f, reg=r, lr=lr)
    for f in (50, 100, 200)
    for r in (0.02, 0.1)
    for lr in (0.005, 0.01)
]


def old_recipe_rmse(train: UserItemMatrix, params: SVDParams, *, seed: int) -> float:
    """RMSE on 20% of the training ratings (known users), Surprise's prediction formula."""
    rng = np.random.default_rng(seed)
    matrix = train.matrix.tocoo()
    held = rng.random(matrix.nnz) < 0.2
    # A canonical CSR (sorted, no duplicates) lists its entries in the same order as its COO form.
    fit_part = train.matrix.copy()
    fit_part.data[held] = 0
    fit_part.eliminate_zeros()
    trainset, _, scale = build_trainset(UserItemMatrix(fit_part), params, seed=seed)
    algo = SVD(
        n_factors=params.n_factors,
        n_epochs=params.n_epochs,
        biased=params.biased,
        init_std_dev=params.init_std,
        lr_all=params.lr,
        reg_all=params.reg,
        random_state=seed,
    ).fit(trainset)
    users, items = matrix.row[held], matrix.col[held]
    truth = rating_from_plays(matrix.data[held])
    predicted = (
        trainset.global_mean + algo.bu[users] + algo.bi[items] + np.einsum("nk,nk->n", algo.pu[users], algo.qi[items])
    ) / scale
    predicted = np.clip(predicted, 0, rating_from_plays(matrix.data).max())
    return float(np.sqrt(np.mean((predicted - truth) ** 2)))


def run_seed(data, seed: int, trials: int, timeout_s: float) -> dict:
    started = time.perf_counter()
    config = TrainConfig(
        data=Path(data.source["path"]), out=Path("/dev/null"), seed=seed, trials=trials, timeout_s=timeout_s
    )
    outcome = fit_and_evaluate_split(data, config=config)
    train, cases = outcome["train"], outcome["test_cases"]
    results = dict(outcome["metrics"])
    product_seconds = time.perf_counter() - started

    t0 = time.perf_counter()
    grid = [(old_recipe_rmse(train, p, seed=seed), i, p) for i, p in enumerate(OLD_RECIPE_GRID)]
    rmse, _, old_params = min(grid)
    old_model = fit_svd(train, old_params, seed=seed)
    ratings = rating_from_plays(train.matrix.data)
    old = evaluate_rankers(
        {"old_recipe": VectorRanker(serving_vectors(old_model.item_factors))},
        cases,
        train.n_items,
        rating_predictions={"old_recipe": svd_rating_predictions(old_model, cases, rating_max=float(ratings.max()))},
    )
    results.update(old)
    return {
        "seed": seed,
        "results": results,
        "svd_params": outcome["params"].to_dict(),
        "search": None
        if outcome["search"] is None
        else {"best_value": outcome["search"].best_value, "trials": outcome["search"].trials},
        "old_recipe_params": old_params.to_dict(),
        "old_recipe_validation_rmse": round(rmse, 5),
        "old_recipe_grid_rmse": [round(g[0], 5) for g in sorted(grid, key=lambda g: g[1])],
        "catalog_items": train.n_items,
        "train_users": train.n_users,
        "test_users": cases.n_cases,
        "seconds": {"product": round(product_seconds, 1), "old_recipe": round(time.perf_counter() - t0, 1)},
    }


def table(rows: dict[str, dict], fmt=lambda v: f"{v:.4f}") -> str:
    header = f"{'method':<12}" + "".join(f"{c:>16}" for c in COLUMNS)
    lines = [header, "-" * len(header)]
    for name in METHODS:
        metrics = rows[name]
        lines.append(f"{name:<12}" + "".join(f"{fmt(metrics[c]) if c in metrics else 'n/a':>16}" for c in COLUMNS))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATASET)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help="search trials (product default)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    require_dataset(args.data)
    import faiss

    faiss.omp_set_num_threads(2)
    started = time.perf_counter()
    data = read_interactions(args.data)
    print(f"{data.source['rows']} rows, {data.n_users} playlists, {data.n_items} songs ({data.n_pairs} pairs)")
    runs = []
    for seed in args.seeds:
        run = run_seed(data, seed, args.trials, args.timeout)
        runs.append(run)
        r = run["results"]
        print(
            f"\nseed {seed}: {run['test_users']} test playlists, {run['catalog_items']} catalog songs, "
            f"{run['seconds']}s; SVD {run['svd_params']}\nold recipe (RMSE-chosen): {run['old_recipe_params']}"
        )
        print(table(r))
        print(f"SVD / item-kNN HitRate@10 = {r['svd']['hit_rate@10'] / r['item_knn']['hit_rate@10']:.3f}", flush=True)

    summary = {}
    for name in METHODS:
        summary[name] = {}
        for column in COLUMNS:
            values = [run["results"][name][column] for run in runs if column in run["results"][name]]
            if values:
                summary[name][column] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    ratios = [run["results"]["svd"]["hit_rate@10"] / run["results"]["item_knn"]["hit_rate@10"] for run in runs]
    print(f"\nMean +- std over seeds {args.seeds}:")
    print(
        table(
            {n: {c: v for c, v in s.items()} for n, s in summary.items()},
            fmt=lambda v: f"{v['mean']:.4f}±{v['std']:.4f}",
        )
    )
    print(
        f"SVD / item-kNN HitRate@10: mean {np.mean(ratios):.3f} (per seed {', '.join(f'{x:.3f}' for x in ratios)}); "
        f"quality bar >= 0.9"
    )
    document = {
        "data": {k: data.source[k] for k in ("path", "format", "sha256", "rows")},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "protocol": __doc__.split("Protocol (also in ml/README.md), repeated for 5 split seeds:")[1].split("    .venv")[
            0
        ],
        "seeds": args.seeds,
        "summary": summary,
        "svd_over_knn_hit_rate": {"mean": float(np.mean(ratios)), "per_seed": ratios},
        "runs": runs,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    save_results(args.out, document)
    print(f"Saved {args.out}")


if __name__ == "__main__":
    main()
