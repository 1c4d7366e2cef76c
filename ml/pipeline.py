"""The three steps the management commands run: train, evaluate, build the index.

Each is a plain function over paths and dataclasses; the commands add the Django side (settings,
the catalog publish) and the printing.

``train_model``: read -> user split (train / validation / test) -> bounded search on validation
users (trial 0 = defaults) -> final fit on train + validation users -> evaluation on the test
users beside the popularity and item-kNN baselines -> a new artifact version.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import artifacts
from .baselines import IndexRanker, ItemKNNRanker, PopularityRanker, VectorRanker
from .errors import ArtifactError, DataError
from .evaluate import (
    evaluate_rankers,
    knn_rating_predictions,
    popularity_rating_predictions,
    svd_rating_predictions,
)
from .index import FLAT_MAX_ITEMS, build_index, write_index
from .readers import Interactions, read_interactions
from .recommend import serving_vectors
from .search import search_params
from .split import (
    EvalCases,
    UserItemMatrix,
    build_catalog,
    make_eval_cases,
    rating_from_plays,
    split_users,
    user_item_matrix,
)
from .train import DEFAULT_PARAMS, SVDModel, SVDParams, fit_svd

__all__ = [
    "TrainConfig",
    "TrainResult",
    "build_version_index",
    "evaluate_version",
    "format_metrics_table",
    "train_model",
]

logger = logging.getLogger(__name__)

DEFAULT_TRIALS = 6
DEFAULT_TIMEOUT_S = 420.0


@dataclass
class TrainConfig:
    """Everything ``train`` takes. The defaults are what ``manage.py train --data FILE`` runs."""

    data: Path
    out: Path
    fmt: str | None = None
    trials: int = DEFAULT_TRIALS
    timeout_s: float = DEFAULT_TIMEOUT_S
    seed: int = 0
    params: SVDParams = DEFAULT_PARAMS
    min_item_users: int = 2
    min_user_items: int = 2
    test_fraction: float = 0.1
    val_fraction: float = 0.1
    n_seeds: int = 5
    progress: bool = False


@dataclass
class TrainResult:
    version: str
    path: Path
    manifest: dict
    metrics: dict
    timings: dict = field(default_factory=dict)


@dataclass
class PreparedData:
    """A user split turned into matrices: what both the search and the final fit consume."""

    data: Interactions
    train_users: np.ndarray
    val_users: np.ndarray
    test_users: np.ndarray


def _npz_writer(arrays: dict[str, np.ndarray]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path.write_bytes(buffer.getvalue())

    return write


def _npy_writer(array: np.ndarray) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with open(path, "wb") as handle:
            np.save(handle, array, allow_pickle=False)

    return write


def _json_writer(value) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        artifacts._write_json(path, value, compact=True)

    return write


def fit_and_evaluate_split(
    data: Interactions,
    *,
    config: TrainConfig,
    notify: Callable[[str], None] = lambda message: None,
) -> dict:
    """Search (optional), final fit and test evaluation for one seeded user split.

    Returns a dict with the matrices, the model, the test cases, the metrics, search details
    and timings (shared by ``train_model`` and the quality benchmark).
    """
    timings: dict[str, float] = {}
    train_users, val_users, test_users = split_users(
        data.n_users, test_fraction=config.test_fraction, val_fraction=config.val_fraction, seed=config.seed
    )
    params = config.params
    search = None
    if config.trials > 0 and val_users.size:
        started = time.perf_counter()
        catalog, users = build_catalog(
            data, train_users, min_item_users=config.min_item_users, min_user_items=config.min_user_items
        )
        if catalog.size and users.size:
            search_train = user_item_matrix(data, users, catalog)
            val_cases = make_eval_cases(
                user_item_matrix(data, val_users, catalog), n_seeds=config.n_seeds, seed=config.seed + 1
            )
            if val_cases.n_cases:
                notify(
                    f"Searching parameters: up to {config.trials} trials, {config.timeout_s:.0f}s budget, "
                    f"{search_train.n_users} training users, {val_cases.n_cases} validation users."
                )
                search = search_params(
                    search_train,
                    val_cases,
                    trials=config.trials,
                    timeout_s=config.timeout_s,
                    seed=config.seed,
                    start=params,
                    progress=config.progress,
                )
                params = search.best_params
            else:
                notify("Skipping the search: no validation user has enough songs.")
        timings["search_s"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    fit_users = np.union1d(train_users, val_users)
    catalog, users = build_catalog(
        data, fit_users, min_item_users=config.min_item_users, min_user_items=config.min_user_items
    )
    if catalog.size == 0 or users.size == 0:
        raise DataError(
            f"{data.source.get('path')}: no song was played by at least {config.min_item_users} users "
            f"({data.n_users} users, {data.n_items} songs); lower --min-item-users or use more data."
        )
    train = user_item_matrix(data, users, catalog)
    test_cases = make_eval_cases(
        user_item_matrix(data, test_users, catalog), n_seeds=config.n_seeds, seed=config.seed + 2
    )
    notify(
        f"Fitting SVD {params.n_factors} factors x {params.n_epochs} epochs on {train.n_users} users, "
        f"{train.n_items} songs, {train.matrix.nnz} plays (+{params.neg_ratio:g}x negatives)."
    )
    model = fit_svd(train, params, seed=config.seed)
    timings["fit_s"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    metrics = evaluate_model(model, train.matrix, test_cases) if test_cases.n_cases else {}
    timings["evaluate_s"] = round(time.perf_counter() - started, 2)
    return {
        "params": params,
        "search": search,
        "catalog": catalog,
        "users": users,
        "train": train,
        "test_cases": test_cases,
        "model": model,
        "metrics": metrics,
        "timings": timings,
        "split_sizes": {
            "train": int(train_users.size),
            "validation": int(val_users.size),
            "test": int(test_users.size),
        },
    }


def evaluate_model(model: SVDModel, train_matrix, cases: EvalCases, *, index=None) -> dict:
    """SVD (through ``index`` when given, else exact) beside popularity and item-kNN, same cases."""
    vectors = serving_vectors(model.item_factors)
    popularity = np.bincount(train_matrix.indices, minlength=train_matrix.shape[1])
    knn = ItemKNNRanker(train_matrix)
    svd = IndexRanker(vectors, index) if index is not None else VectorRanker(vectors)
    ratings = rating_from_plays(train_matrix.data)
    rating_max = float(ratings.max()) if ratings.size else 1.0
    predictions = {
        "svd": svd_rating_predictions(model, cases, rating_max=rating_max),
        "popularity": popularity_rating_predictions(train_matrix, cases),
        "item_knn": knn_rating_predictions(knn, cases, global_mean=float(ratings.mean()) if ratings.size else 0.0),
    }
    return evaluate_rankers(
        {"svd": svd, "item_knn": knn, "popularity": PopularityRanker(popularity)},
        cases,
        train_matrix.shape[1],
        rating_predictions=predictions,
    )


def train_model(config: TrainConfig, *, notify: Callable[[str], None] = lambda message: None) -> TrainResult:
    """Read, search, fit, evaluate and write a new artifact version under ``config.out``."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = read_interactions(Path(config.data), config.fmt, progress=config.progress)
    timings["read_s"] = round(time.perf_counter() - started, 2)
    skipped = sum(data.source.get("skipped", {}).values())
    notify(
        f"Read {data.source['rows']} rows ({skipped} skipped): {data.n_users} users, {data.n_items} songs, "
        f"{data.n_pairs} distinct user-song pairs."
    )
    outcome = fit_and_evaluate_split(data, config=config, notify=notify)
    timings.update(outcome["timings"])
    model: SVDModel = outcome["model"]
    train: UserItemMatrix = outcome["train"]
    catalog = outcome["catalog"]
    cases: EvalCases = outcome["test_cases"]
    search = outcome["search"]

    started = time.perf_counter()
    popularity = train.popularity()
    items = [
        {
            "song_id": data.song_ids[code],
            "artist": data.artists[code],
            "title": data.titles[code],
            "popularity": int(popularity[row]),
        }
        for row, code in enumerate(catalog.tolist())
    ]
    matrix = train.matrix
    manifest = {
        "data": {**data.source, "users": data.n_users, "songs": data.n_items, "pairs": data.n_pairs},
        "counts": {
            "users": train.n_users,
            "items": train.n_items,
            "interactions": int(matrix.nnz),
            "negatives": model.n_negatives,
            "rating_scale": round(model.rating_scale, 6),
            "test_users": cases.n_cases,
            "split_users": outcome["split_sizes"],
        },
        "dims": int(model.item_factors.shape[1]),
        "params": {
            **model.params.to_dict(),
            "seed": config.seed,
            "min_item_users": config.min_item_users,
            "min_user_items": config.min_user_items,
            "test_fraction": config.test_fraction,
            "val_fraction": config.val_fraction,
            "n_seeds": config.n_seeds,
            "trials": config.trials,
            "timeout_s": config.timeout_s,
        },
        "search": None
        if search is None
        else {
            "objective": search.objective,
            "best_value": search.best_value,
            "seconds": search.seconds,
            "trials": search.trials,
        },
        "metrics": {"test": outcome["metrics"], "protocol": protocol_description(config, cases)},
        "serving": {
            "vectors": "row-L2-normalised item factors",
            "query": "normalised mean of seed vectors",
            "distance": "1 - inner_product (cosine distance)",
        },
        "timings": timings,
    }
    version = artifacts.new_version_name(data.source["sha256"])
    writers = {
        artifacts.FACTORS_FILE: _npy_writer(model.item_factors),
        artifacts.BIAS_FILE: _npy_writer(model.item_bias.astype(np.float32)),
        artifacts.ITEMS_FILE: _json_writer(items),
        artifacts.TRAIN_FILE: _npz_writer(
            {
                "data": matrix.data.astype(np.float32),
                "indices": matrix.indices.astype(np.int32),
                "indptr": matrix.indptr.astype(np.int64),
                "shape": np.asarray(matrix.shape, dtype=np.int64),
                "global_mean": np.asarray([model.global_mean]),
                "rating_scale": np.asarray([model.rating_scale]),
            }
        ),
        artifacts.CASES_FILE: _npz_writer(cases.to_arrays()),
    }
    path = artifacts.write_version(Path(config.out), version, writers, manifest)
    timings["write_s"] = round(time.perf_counter() - started, 2)
    final_manifest = artifacts.read_manifest(path)
    return TrainResult(
        version=path.name, path=path, manifest=final_manifest, metrics=outcome["metrics"], timings=timings
    )


def protocol_description(config: TrainConfig, cases: EvalCases) -> dict:
    return {
        "split": f"users split at random (seed {config.seed}): {config.test_fraction:.0%} test, "
        f"{config.val_fraction:.0%} validation (search), the rest train; final fit on train + validation",
        "query": f"{config.n_seeds} random seed songs per test user (seed {config.seed + 2}); all other catalog "
        "songs ranked; the user's remaining catalog songs are relevant",
        "test_users": cases.n_cases,
        "skipped_users": cases.skipped_users,
        "k": 10,
        "recall_k": 50,
    }


def _resolve_version(root: Path, version: str | None) -> Path:
    root = Path(root)
    if version:
        path = artifacts.version_dir(root, version)
        if not path.is_dir():
            raise ArtifactError(f"Version {version} does not exist under {root / artifacts.VERSIONS_DIR}.")
        return path
    name = artifacts.current_version(root) or artifacts.latest_version(root)
    if name is None:
        raise ArtifactError(f"No trained model under {root}; run `manage.py train --data FILE` first.")
    return artifacts.version_dir(root, name)


def evaluate_version(root: Path, version: str | None = None) -> dict:
    """Re-run the test protocol on a stored version (default: current, else the latest).

    Uses the version's FAISS index when it has one (what the server answers with), else exact
    search. Returns ``{"version", "index", "protocol", "results": {method: metrics}}``.
    """
    path = _resolve_version(root, version)
    loaded = artifacts.load_version(path, require_index=False)
    matrix, cases, bias = artifacts.load_evaluation_data(path)
    if matrix.shape[1] != loaded.factors.shape[0] or bias.shape[0] != loaded.factors.shape[0]:
        raise ArtifactError(f"{path}: the stored training matrix does not match {artifacts.FACTORS_FILE}.")
    if cases.n_cases == 0:
        raise ArtifactError(f"{path} has no test users to evaluate (the data set was too small to hold any out).")
    manifest = loaded.manifest
    params = SVDParams.from_dict(manifest.get("params", {}))
    with np.load(path / artifacts.TRAIN_FILE, allow_pickle=False) as stored:
        global_mean = float(stored["global_mean"][0])
        rating_scale = float(stored["rating_scale"][0])
    model = SVDModel(
        item_factors=loaded.factors,
        item_bias=bias,
        global_mean=global_mean,
        params=params,
        n_ratings=int(matrix.nnz),
        n_negatives=int(manifest.get("counts", {}).get("negatives", 0)),
        fit_seconds=0.0,
        rating_scale=rating_scale,
    )
    results = evaluate_model(model, matrix, cases, index=loaded.index)
    return {
        "version": loaded.version,
        "index": (manifest.get("index") or {}).get("kind", "none (exact search)"),
        "protocol": manifest.get("metrics", {}).get("protocol", {}),
        "results": results,
    }


def build_version_index(
    root: Path, version: str | None = None, *, kind: str = "auto", flat_max_items: int = FLAT_MAX_ITEMS
) -> tuple[str, dict, list[dict]]:
    """Build and store the FAISS index of a version (default: the latest trained one).

    Returns ``(version, index_info, items)``; publishing (catalog + ``current``) is the caller's.
    """
    root = Path(root)
    if version is None:
        version = artifacts.latest_version(root)
        if version is None:
            raise ArtifactError(f"No trained model under {root}; run `manage.py train --data FILE` first.")
    path = _resolve_version(root, version)
    loaded = artifacts.load_version(path, require_index=False)
    popularity = np.asarray([item.get("popularity", 0) for item in loaded.items], dtype=np.float64)
    index, info = build_index(loaded.vectors, kind=kind, flat_max_items=flat_max_items, popularity=popularity, seed=0)
    info["file"] = artifacts.INDEX_FILE
    artifacts.update_version(path, {artifacts.INDEX_FILE: lambda tmp: write_index(index, tmp)}, {"index": info})
    artifacts.load_version(path, require_index=True)  # refuse to hand back anything we could not serve
    return loaded.version, info, loaded.items


RESULT_COLUMNS = ("hit_rate@10", "ndcg@10", "recall@50", "coverage@10", "rmse", "mae")


def format_metrics_table(results: dict[str, dict]) -> str:
    """A fixed-width text table: one row per method, one column per metric."""
    header = f"{'method':<12}" + "".join(f"{c:>13}" for c in RESULT_COLUMNS)
    lines = [header, "-" * len(header)]
    for name, metrics in results.items():
        cells = "".join(
            f"{metrics[c]:>13.4f}" if isinstance(metrics.get(c), float) else f"{'n/a':>13}" for c in RESULT_COLUMNS
        )
        lines.append(f"{name:<12}{cells}")
    return "\n".join(lines)


def config_summary(config: TrainConfig) -> dict:
    values = asdict(config)
    values["data"], values["out"] = str(config.data), str(config.out)
    return values
