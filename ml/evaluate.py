"""Ranking and rating metrics, and the evaluation protocol that applies them to every method.

Metrics are pure functions over a boolean relevance matrix (one row per test user, one column per
rank position) and the number of relevant items per user:

* HitRate@k: share of users with at least one relevant song in their top k.
* MRR@k: mean of 1 / (rank of the first relevant song), 0 when none is in the top k.
* NDCG@k: binary relevance, DCG = sum(rel_i / log2(i + 2)), ideal DCG over min(k, n_relevant).
* Recall@k: hits in the top k / min(k, n_relevant).
* Coverage@k: share of the catalog that appears in at least one user's top k.
* RMSE / MAE on the held-out observed ratings (parity with the old system; not a ranking metric).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import numpy as np

from .baselines import ItemKNNRanker, Ranker
from .sorted_sets import in_sorted
from .split import EvalCases
from .train import SVDModel

__all__ = [
    "coverage_at_k",
    "evaluate_rankers",
    "hit_rate_at_k",
    "knn_rating_predictions",
    "mae",
    "mrr_at_k",
    "ndcg_at_k",
    "popularity_rating_predictions",
    "rank_metrics",
    "recall_at_k",
    "relevance",
    "rmse",
    "svd_rating_predictions",
]

logger = logging.getLogger(__name__)


def relevance(top: np.ndarray, cases: EvalCases, n_items: int) -> np.ndarray:
    """bool [n_cases, K]: is ``top[c, r]`` one of case c's held-out rows. -1 entries are misses."""
    top = np.asarray(top, dtype=np.int64)
    case_of = np.repeat(np.arange(cases.n_cases, dtype=np.int64), np.diff(cases.heldout_indptr))
    heldout_keys = case_of * n_items + cases.heldout_indices
    order = np.argsort(heldout_keys, kind="stable")
    heldout_keys = heldout_keys[order]
    keys = np.arange(top.shape[0], dtype=np.int64)[:, None] * n_items + top
    return in_sorted(keys, heldout_keys) & (top >= 0)


def hit_rate_at_k(rel: np.ndarray, k: int) -> float:
    return float(rel[:, :k].any(axis=1).mean()) if rel.shape[0] else 0.0


def mrr_at_k(rel: np.ndarray, k: int) -> float:
    if not rel.shape[0]:
        return 0.0
    top = rel[:, :k]
    first = np.argmax(top, axis=1)
    return float(np.where(top.any(axis=1), 1.0 / (first + 1.0), 0.0).mean())


def ndcg_at_k(rel: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    if not rel.shape[0]:
        return 0.0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (rel[:, :k] * discounts[: rel[:, :k].shape[1]]).sum(axis=1)
    ideal_cum = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal_cum[np.minimum(np.asarray(n_relevant), k)]
    with np.errstate(invalid="ignore", divide="ignore"):
        ndcg = np.where(idcg > 0, dcg / idcg, 0.0)
    return float(ndcg.mean())


def recall_at_k(rel: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    if not rel.shape[0]:
        return 0.0
    denominator = np.minimum(np.asarray(n_relevant), k)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(denominator > 0, rel[:, :k].sum(axis=1) / denominator, 0.0)
    return float(recall.mean())


def coverage_at_k(top: np.ndarray, n_items: int, k: int) -> float:
    shown = np.asarray(top)[:, :k]
    return float(np.unique(shown[shown >= 0]).shape[0] / n_items) if n_items else 0.0


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(predicted) - np.asarray(actual)) ** 2))) if len(actual) else float("nan")


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(predicted) - np.asarray(actual)))) if len(actual) else float("nan")


def rank_metrics(top: np.ndarray, cases: EvalCases, n_items: int, *, k: int = 10, recall_k: int = 50) -> dict:
    """HitRate@k, MRR@k, NDCG@k, Recall@recall_k and Coverage@k for a top list per case."""
    rel = relevance(top, cases, n_items)
    n_relevant = np.diff(cases.heldout_indptr)
    return {
        f"hit_rate@{k}": hit_rate_at_k(rel, k),
        f"mrr@{k}": mrr_at_k(rel, k),
        f"ndcg@{k}": ndcg_at_k(rel, n_relevant, k),
        f"recall@{recall_k}": recall_at_k(rel, n_relevant, recall_k),
        f"coverage@{k}": coverage_at_k(top, n_items, k),
    }


# --------------------------------------------------------------------------------------------
# Rating predictions (RMSE/MAE parity)


def _case_of_heldout(cases: EvalCases) -> np.ndarray:
    return np.repeat(np.arange(cases.n_cases), np.diff(cases.heldout_indptr))


def svd_rating_predictions(model: SVDModel, cases: EvalCases, *, rating_max: float) -> np.ndarray:
    """Predicted rating of every held-out pair, the user folded in from the seeds' ratings.

    A cold user has no trained factors, so ``p_u`` is the ridge solution fitted to the seeds:
    ``p = Q_s^T (Q_s Q_s^T + lambda I)^-1 (r_s - mu - b_s)`` with ``lambda = reg * n_seeds`` (the
    SGD objective's user penalty, once per rating). The fold-in works in the model's (scaled)
    training space; predictions are scaled back and clipped to [0, rating_max].
    """
    factors = model.item_factors.astype(np.float64)
    bias = model.item_bias.astype(np.float64) if model.params.biased else np.zeros(factors.shape[0])
    mu = model.global_mean
    n_seeds = cases.seeds.shape[1]
    lam = max(model.params.reg * n_seeds, 1e-6)
    q_seeds = factors[cases.seeds]  # [n, s, k]
    gram = q_seeds @ q_seeds.transpose(0, 2, 1) + lam * np.eye(n_seeds)
    targets = cases.seed_ratings * model.rating_scale - mu - bias[cases.seeds]
    user_vectors = np.einsum("nsk,ns->nk", q_seeds, np.linalg.solve(gram, targets[..., None])[..., 0])
    case_of = _case_of_heldout(cases)
    items = cases.heldout_indices
    predicted = mu + bias[items] + np.einsum("nk,nk->n", user_vectors[case_of], factors[items])
    return np.clip(predicted / model.rating_scale, 0.0, rating_max)


def popularity_rating_predictions(train_matrix, cases: EvalCases) -> np.ndarray:
    """Item mean rating in training (the popularity baseline's rating counterpart)."""
    from .split import rating_from_plays

    ratings = train_matrix.copy()
    ratings.data = rating_from_plays(ratings.data)
    sums = np.asarray(ratings.sum(axis=0)).ravel()
    counts = np.bincount(ratings.indices, minlength=ratings.shape[1])
    global_mean = float(ratings.data.mean()) if ratings.nnz else 0.0
    item_mean = np.where(counts > 0, sums / np.maximum(counts, 1), global_mean)
    return item_mean[cases.heldout_indices]


def knn_rating_predictions(knn: ItemKNNRanker, cases: EvalCases, *, global_mean: float) -> np.ndarray:
    """Similarity-weighted mean of the seeds' ratings (KNNBasic-style); global mean if no
    seed is similar at all."""
    out = np.empty(cases.heldout_indices.shape[0])
    for case in range(cases.n_cases):
        start, end = cases.heldout_indptr[case], cases.heldout_indptr[case + 1]
        sims = knn.similarities(cases.seeds[case], cases.heldout_indices[start:end])  # [s, m]
        weight = sims.sum(axis=0)
        weighted = cases.seed_ratings[case] @ sims
        out[start:end] = np.where(weight > 0, weighted / np.maximum(weight, 1e-12), global_mean)
    return out


# --------------------------------------------------------------------------------------------
# The protocol


def evaluate_rankers(
    rankers: Mapping[str, Ranker],
    cases: EvalCases,
    n_items: int,
    *,
    k: int = 10,
    recall_k: int = 50,
    rating_predictions: Mapping[str, np.ndarray] | None = None,
) -> dict[str, dict]:
    """Every ranker on the same cases: ``{name: {metric: value, ..., "seconds": s}}``; RMSE/MAE
    for the rankers that have rating predictions."""
    results: dict[str, dict] = {}
    depth = max(k, recall_k)
    for name, ranker in rankers.items():
        started = time.perf_counter()
        top = ranker.top(cases.seeds, depth)
        metrics = rank_metrics(top, cases, n_items, k=k, recall_k=recall_k)
        if rating_predictions and name in rating_predictions:
            metrics["rmse"] = rmse(rating_predictions[name], cases.heldout_ratings)
            metrics["mae"] = mae(rating_predictions[name], cases.heldout_ratings)
        metrics["seconds"] = round(time.perf_counter() - started, 3)
        results[name] = metrics
        logger.info("Evaluated %s on %d cases: %s", name, cases.n_cases, metrics)
    return results
