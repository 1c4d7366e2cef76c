"""The three steps the management commands run: train, evaluate, build the index.

Each is a plain function over paths and dataclasses; the commands add the Django side (settings,
the catalog publish) and the printing. The stages live in their own modules: candidates
(:mod:`ml.candidates`, :mod:`ml.graph`), scorer (:mod:`ml.ranker`, :mod:`ml.two_stage`), served
ranking (:mod:`ml.served`), evaluation (:mod:`ml.evaluation`).

``train_model``: read -> user split (train / validation / test) -> SVD search on validation users,
scored by next-song HitRate@10 (trial 0 = defaults) -> item graph on the training users -> scorer
(blend + LightGBM ranker) fitted on validation users through those generators -> final SVD and
graph on train + validation users -> both protocols on the test users beside every baseline ->
a new artifact version.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import artifacts
from .baselines import IndexRanker, ItemKNNRanker, VectorRanker
from .errors import ArtifactError, DataError
from .evaluate import knn_rating_predictions, popularity_rating_predictions, svd_rating_predictions
from .evaluation import EvaluationReport, evaluate_product
from .graph import DEFAULT_GRAPH_PARAMS, GraphParams, ItemGraph, build_item_graph
from .index import FLAT_MAX_ITEMS, build_index, write_index
from .ranker import BLEND_START, BlendScorer, FeatureScorer, LightGBMScorer, Scorer
from .readers import Interactions, read_interactions
from .recommend import serving_vectors
from .search import SearchResult, search_params
from .served import DEFAULT_MAX_PER_ARTIST, DEFAULT_MMR_LAMBDA, RankingModel
from .split import (
    EvalCases,
    UserItemMatrix,
    build_catalog,
    make_eval_cases,
    make_next_song_cases,
    rating_from_plays,
    split_users,
    user_item_matrix,
)
from .train import DEFAULT_PARAMS, SVDModel, SVDParams, fit_svd
from .two_stage import ScorerFit, artist_codes_of, exact_index, fit_scorer

__all__ = [
    "SplitFit",
    "TrainConfig",
    "TrainResult",
    "build_version_index",
    "evaluate_version",
    "fit_split",
    "train_model",
]

logger = logging.getLogger(__name__)

#: The SVD search is opt-in (``--trials N``): in the last 5-seed run it kept the defaults in 4 of 5
#: splits, and since the re-ranker the SVD is one of 19 features, while the search costs ~90 s of
#: the 10-minute training budget on a quiet 2-core machine (several times that on a loaded one).
DEFAULT_TRIALS = 0
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
    graph: GraphParams = DEFAULT_GRAPH_PARAMS
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
    report: EvaluationReport | None
    timings: dict = field(default_factory=dict)


@dataclass
class SplitFit:
    """One seeded user split, fitted and evaluated: what ``train`` stores and the benchmark reads."""

    params: SVDParams
    search: SearchResult | None
    catalog: np.ndarray  # item codes in catalog row order
    train: UserItemMatrix  # train + validation users x catalog
    svd: SVDModel
    graph: ItemGraph
    scorer_fit: ScorerFit
    model: RankingModel  # the final generators + the chosen scorer (exact search)
    cases: dict[str, EvalCases]  # test users, per protocol
    report: EvaluationReport | None
    split_sizes: dict[str, int]
    timings: dict[str, float]

    def ablation_scorers(self) -> dict[str, Scorer]:
        return ablation_scorers(self.scorer_fit.blend, self.scorer_fit.ranker)


def ablation_scorers(blend: Scorer, ranker: Scorer | None) -> dict[str, Scorer]:
    """Each stage's scorer, for the evaluation's ablation rows."""
    scorers: dict[str, Scorer] = {"svd": FeatureScorer("svd"), "graph": FeatureScorer("rp3"), "blend": blend}
    if ranker is not None:
        scorers["ranker"] = ranker
    return scorers


def product_name(scorer: Scorer) -> str:
    return "ranker" if scorer.kind == "lightgbm" else "blend"


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


def _text_writer(text: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write


def _ranking_model(
    svd: SVDModel, graph: ItemGraph, train: UserItemMatrix, artists: list[str], scorer: Scorer
) -> RankingModel:
    vectors = serving_vectors(svd.item_factors)
    return RankingModel(
        vectors=vectors,
        index=exact_index(vectors),
        graph=graph,
        scorer=scorer,
        popularity=train.popularity(),
        artist_codes=artist_codes_of(artists),
    )


def _rating_predictions(svd: SVDModel, train_matrix, cases: EvalCases) -> dict[str, np.ndarray]:
    """RMSE/MAE inputs (parity with the old system; not a quality measure)."""
    ratings = rating_from_plays(train_matrix.data)
    rating_max = float(ratings.max()) if ratings.size else 1.0
    return {
        "svd": svd_rating_predictions(svd, cases, rating_max=rating_max),
        "popularity": popularity_rating_predictions(train_matrix, cases),
        "item_knn": knn_rating_predictions(
            ItemKNNRanker(train_matrix), cases, global_mean=float(ratings.mean()) if ratings.size else 0.0
        ),
    }


def fit_split(
    data: Interactions,
    *,
    config: TrainConfig,
    notify: Callable[[str], None] = lambda message: None,
    evaluate: bool = True,
) -> SplitFit:
    """Search, stage fits and test evaluation for one seeded user split (``train_model`` and the
    quality benchmark)."""
    timings: dict[str, float] = {}
    train_users, val_users, test_users = split_users(
        data.n_users, test_fraction=config.test_fraction, val_fraction=config.val_fraction, seed=config.seed
    )
    params = config.params
    search = None
    started = time.perf_counter()
    catalog, users = build_catalog(
        data, train_users, min_item_users=config.min_item_users, min_user_items=config.min_user_items
    )
    stage_svd = None
    scorer_fit = None
    if catalog.size and users.size and val_users.size:
        stage_train = user_item_matrix(data, users, catalog)
        val_matrix = user_item_matrix(data, val_users, catalog)
        val_next = make_next_song_cases(val_matrix, n_seeds=config.n_seeds, seed=config.seed + 1)
        if config.trials > 0 and val_next.n_cases:
            notify(
                f"Searching SVD parameters: up to {config.trials} trials, {config.timeout_s:.0f}s budget, "
                f"{stage_train.n_users} training users, {val_next.n_cases} validation users (next-song HitRate@10)."
            )
            search = search_params(
                stage_train,
                val_next,
                trials=config.trials,
                timeout_s=config.timeout_s,
                seed=config.seed,
                start=params,
                objective="hit_rate@10",
                progress=config.progress,
            )
            params, stage_svd = search.best_params, search.best_model
            timings["search_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        if stage_svd is None:
            notify(f"Fitting SVD on the {stage_train.n_users} training users (for the second stage).")
            stage_svd = fit_svd(stage_train, params, seed=config.seed)
        stage_graph = build_item_graph(stage_train.matrix, config.graph)
        val_cases = make_eval_cases(val_matrix, n_seeds=config.n_seeds, seed=config.seed + 1)
        stage_model = _ranking_model(
            stage_svd, stage_graph, stage_train, [data.artists[c] for c in catalog.tolist()], FeatureScorer("svd")
        )
        notify(f"Fitting the re-ranker on {val_cases.n_cases} validation users' candidates.")
        scorer_fit = fit_scorer(stage_model, val_cases, seed=config.seed)
        notify(
            f"Re-ranker: {scorer_fit.kind} serves; validation next-song HitRate@10 "
            + ", ".join(f"{name} {value:.3f}" for name, value in scorer_fit.validation.items())
        )
        timings["second_stage_s"] = round(time.perf_counter() - started, 2)
    if scorer_fit is None:
        blend = BlendScorer(dict(BLEND_START))
        scorer_fit = ScorerFit(scorer=blend, blend=blend, ranker=None, validation={}, counts={"fit_queries": 0})

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
    test_matrix = user_item_matrix(data, test_users, catalog)
    cases = {
        "next_song": make_next_song_cases(test_matrix, n_seeds=config.n_seeds, seed=config.seed + 2),
        "all_remaining": make_eval_cases(test_matrix, n_seeds=config.n_seeds, seed=config.seed + 2),
    }
    notify(
        f"Fitting SVD {params.n_factors} factors x {params.n_epochs} epochs on {train.n_users} users, "
        f"{train.n_items} songs, {train.matrix.nnz} plays (+{params.neg_ratio:g}x negatives)."
    )
    svd = fit_svd(train, params, seed=config.seed)
    timings["fit_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    graph = build_item_graph(train.matrix, config.graph)
    timings["graph_s"] = round(time.perf_counter() - started, 2)
    model = _ranking_model(svd, graph, train, [data.artists[c] for c in catalog.tolist()], scorer_fit.scorer)

    report = None
    if evaluate and cases["all_remaining"].n_cases:
        started = time.perf_counter()
        notify(f"Evaluating on {cases['next_song'].n_cases} test users: both protocols, every baseline.")
        report = evaluate_product(
            model,
            ablation_scorers(scorer_fit.blend, scorer_fit.ranker),
            product_name(scorer_fit.scorer),
            train.matrix,
            cases,
            svd=VectorRanker(model.vectors),
            rating_predictions=_rating_predictions(svd, train.matrix, cases["all_remaining"]),
            progress=config.progress,
        )
        timings["evaluate_s"] = round(time.perf_counter() - started, 2)
    return SplitFit(
        params=params,
        search=search,
        catalog=catalog,
        train=train,
        svd=svd,
        graph=graph,
        scorer_fit=scorer_fit,
        model=model,
        cases=cases,
        report=report,
        split_sizes={"train": int(train_users.size), "validation": int(val_users.size), "test": int(test_users.size)},
        timings=timings,
    )


def train_model(config: TrainConfig, *, notify: Callable[[str], None] = lambda message: None) -> TrainResult:
    """Read, search, fit both stages, evaluate and write a new artifact version under ``config.out``."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = read_interactions(Path(config.data), config.fmt, progress=config.progress)
    timings["read_s"] = round(time.perf_counter() - started, 2)
    skipped = sum(data.source.get("skipped", {}).values())
    notify(
        f"Read {data.source['rows']} rows ({skipped} skipped): {data.n_users} users, {data.n_items} songs, "
        f"{data.n_pairs} distinct user-song pairs."
    )
    fit = fit_split(data, config=config, notify=notify)
    timings.update(fit.timings)
    model, train, search, scorer_fit = fit.svd, fit.train, fit.search, fit.scorer_fit

    started = time.perf_counter()
    popularity = train.popularity()
    items = [
        {
            "song_id": data.song_ids[code],
            "artist": data.artists[code],
            "title": data.titles[code],
            "popularity": int(popularity[row]),
        }
        for row, code in enumerate(fit.catalog.tolist())
    ]
    matrix = train.matrix
    scorer_info: dict = {
        **scorer_fit.scorer.describe(),
        "blend_weights": scorer_fit.blend.weights,
        "validation_next_song_hit_rate@10": scorer_fit.validation,
        "fit": scorer_fit.counts,
        "fit_seconds": scorer_fit.seconds,
    }
    if scorer_fit.scorer.kind == "lightgbm":
        scorer_info["file"] = artifacts.RANKER_FILE
    manifest = {
        "data": {**data.source, "users": data.n_users, "songs": data.n_items, "pairs": data.n_pairs},
        "counts": {
            "users": train.n_users,
            "items": train.n_items,
            "interactions": int(matrix.nnz),
            "negatives": model.n_negatives,
            "rating_scale": round(model.rating_scale, 6),
            "test_users": fit.cases["all_remaining"].n_cases,
            "split_users": fit.split_sizes,
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
        "graph": {**fit.graph.params.to_dict(), "edges": fit.graph.nnz, "file": artifacts.GRAPH_FILE},
        "scorer": scorer_info,
        "search": None
        if search is None
        else {
            "objective": f"next-song {search.objective}",
            "best_value": search.best_value,
            "seconds": search.seconds,
            "trials": search.trials,
        },
        "metrics": {
            "test": fit.report.to_dict() if fit.report else None,
            "protocol": protocol_description(config, fit.cases),
        },
        "serving": {
            "vectors": "row-L2-normalised item factors",
            "query": "normalised (weighted) mean of the profile's vectors",
            "candidates": "FAISS top-200 of the query vector + item-graph neighbours of the profile songs",
            "order": f"{scorer_info['kind']} scorer, then MMR and the artist cap",
            "distance": "1 - cosine(query vector, song vector) in SVD space (not the order's key)",
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
        artifacts.CASES_FILE: _npz_writer(fit.cases["all_remaining"].to_arrays()),
        artifacts.NEXT_CASES_FILE: _npz_writer(fit.cases["next_song"].to_arrays()),
        artifacts.GRAPH_FILE: _npz_writer(fit.graph.to_arrays()),
    }
    if isinstance(scorer_fit.scorer, LightGBMScorer):
        writers[artifacts.RANKER_FILE] = _text_writer(scorer_fit.scorer.to_text())
    path = artifacts.write_version(Path(config.out), version, writers, manifest)
    timings["write_s"] = round(time.perf_counter() - started, 2)
    final_manifest = artifacts.read_manifest(path)
    return TrainResult(version=path.name, path=path, manifest=final_manifest, report=fit.report, timings=timings)


def protocol_description(config: TrainConfig, cases: dict[str, EvalCases]) -> dict:
    return {
        "split": f"users split at random (seed {config.seed}): {config.test_fraction:.0%} test, "
        f"{config.val_fraction:.0%} validation (search, re-ranker), the rest train; final fit on train + validation",
        "next_song": f"per test user one random song held out, {config.n_seeds} other random songs as seeds "
        f"(seed {config.seed + 2}); the one song is relevant; whole catalog ranked",
        "all_remaining": f"{config.n_seeds} random seed songs per test user (seed {config.seed + 2}); all other "
        "catalog songs ranked; the user's remaining catalog songs are relevant",
        "test_users": cases["all_remaining"].n_cases,
        "skipped_users": cases["all_remaining"].skipped_users,
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


def evaluate_version(
    root: Path,
    version: str | None = None,
    *,
    mmr_lambda: float | None = None,
    max_per_artist: int | None = None,
    progress: bool = False,
) -> dict:
    """Re-run both test protocols on a stored version (default: current, else the latest).

    Uses the version's FAISS index when it has one (what the server answers with), else exact
    search. Returns ``{"version", "index", "protocol", "report": EvaluationReport}``.
    """
    path = _resolve_version(root, version)
    loaded = artifacts.load_version(path, require_index=False)
    matrix, cases, bias = artifacts.load_evaluation_data(path)
    if matrix.shape[1] != loaded.factors.shape[0] or bias.shape[0] != loaded.factors.shape[0]:
        raise ArtifactError(f"{path}: the stored training matrix does not match {artifacts.FACTORS_FILE}.")
    if cases["all_remaining"].n_cases == 0:
        raise ArtifactError(f"{path} has no test users to evaluate (the data set was too small to hold any out).")
    manifest = loaded.manifest
    params = SVDParams.from_dict(manifest.get("params", {}))
    with np.load(path / artifacts.TRAIN_FILE, allow_pickle=False) as stored:
        global_mean = float(stored["global_mean"][0])
        rating_scale = float(stored["rating_scale"][0])
    svd = SVDModel(
        item_factors=loaded.factors,
        item_bias=bias,
        global_mean=global_mean,
        params=params,
        n_ratings=int(matrix.nnz),
        n_negatives=int(manifest.get("counts", {}).get("negatives", 0)),
        fit_seconds=0.0,
        rating_scale=rating_scale,
    )
    model = RankingModel(
        vectors=loaded.vectors,
        index=loaded.index if loaded.index is not None else exact_index(loaded.vectors),
        graph=loaded.graph,
        scorer=loaded.scorer,
        popularity=loaded.popularity,
        artist_codes=artist_codes_of(loaded.artists),
    )
    stored_blend = manifest.get("scorer", {}).get("blend_weights") or BLEND_START
    blend = loaded.scorer if loaded.scorer.kind == "blend" else BlendScorer(dict(stored_blend))
    ranker = loaded.scorer if loaded.scorer.kind == "lightgbm" else None
    scorers = ablation_scorers(blend, ranker)
    svd_ranker = IndexRanker(loaded.vectors, loaded.index) if loaded.index is not None else VectorRanker(loaded.vectors)
    report = evaluate_product(
        model,
        scorers,
        product_name(loaded.scorer),
        matrix,
        cases,
        svd=svd_ranker,
        mmr_lambda=DEFAULT_MMR_LAMBDA if mmr_lambda is None else mmr_lambda,
        max_per_artist=DEFAULT_MAX_PER_ARTIST if max_per_artist is None else max_per_artist,
        rating_predictions=_rating_predictions(svd, matrix, cases["all_remaining"]),
        progress=progress,
    )
    return {
        "version": loaded.version,
        "index": (manifest.get("index") or {}).get("kind", "none (exact search)"),
        "protocol": manifest.get("metrics", {}).get("protocol", {}),
        "report": report,
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
