"""One-at-a-time sweep around the default SVD parameters, scored on validation users.

    .venv/bin/python bench/sweep.py [--data DIR] [--splits 0 1]

For each split seed: the same train / validation split `manage.py train` makes, then the defaults
and one change at a time, each fitted on the training users and scored on the validation users
(cold start from 5 seeds, as the search scores trials). Test users are never touched. Prints
HitRate@10, NDCG@10 and Recall@50 per point; saves bench/results/sweep.json. Use it to see whether
a default is worth changing: differences of ~0.02 HitRate@10 are within split-to-split noise on
~700 validation playlists.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from _datasets import require_dataset
from _results import RESULTS_DIR, save_results  # bench/ is on the path when a script runs

os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.readers import read_interactions
from ml.search import score_params
from ml.split import build_catalog, make_eval_cases, split_users, user_item_matrix
from ml.train import DEFAULT_PARAMS

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "spotify-mpd-followed-playlists"
RESULTS = RESULTS_DIR / "sweep.json"
CHANGES = [
    {},
    {"reg": 0.01},
    {"reg": 0.04},
    {"neg_ratio": 2.0},
    {"neg_alpha": 0.75},
    {"n_epochs": 25},
    {"n_epochs": 45},
    {"lr": 0.05},
    {"init_std": 0.05},
    {"n_factors": 128},
]
SHOWN = ("hit_rate@10", "ndcg@10", "recall@50")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATASET)
    parser.add_argument("--splits", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    require_dataset(args.data)
    data = read_interactions(args.data)
    points = []
    for split in args.splits:
        train_users, val_users, _ = split_users(data.n_users, test_fraction=0.1, val_fraction=0.1, seed=split)
        catalog, users = build_catalog(data, train_users, min_item_users=2, min_user_items=2)
        train = user_item_matrix(data, users, catalog)
        val = make_eval_cases(user_item_matrix(data, val_users, catalog), n_seeds=5, seed=split + 1)
        for change in CHANGES:
            started = time.perf_counter()
            _, metrics, _ = score_params(DEFAULT_PARAMS.replace(**change), train, val, seed=split)
            point = {
                "split": split,
                "change": change or "defaults",
                **{k: round(metrics[k], 4) for k in SHOWN},
                "seconds": round(time.perf_counter() - started, 1),
            }
            points.append(point)
            print(
                f"split {split}  {json.dumps(change) if change else 'defaults':<24}"
                + "".join(f"  {k} {point[k]:.4f}" for k in SHOWN)
                + f"  {point['seconds']} s",
                flush=True,
            )
    save_results(
        RESULTS,
        {
            "defaults": DEFAULT_PARAMS.to_dict(),
            "validation_users": "10% of playlists per split, cold start from 5 seeds",
            "points": points,
        },
    )
    print(f"Saved {RESULTS}")


if __name__ == "__main__":
    main()
