"""Stage two of the recommender: scoring the candidates of :mod:`ml.candidates`.

Scorers map a candidate feature matrix to one score per candidate (higher is better):

* :class:`FeatureScorer`: one feature as the score ("svd" = the SVD alone, "rp3" = the graph
  alone): the ablation's single-generator rows;
* :class:`BlendScorer`: a weighted sum of features, weights fitted on validation users by a
  listwise softmax loss (:func:`fit_blend`; the floor);
* :class:`LightGBMScorer`: a LightGBM binary classifier (is this candidate one of the user's
  held-out songs?) trained on validation users' candidates. Saved as LightGBM's own **text**
  model file (never pickle), its sha256 in the manifest like every artifact.

Training rows come from validation users the candidate generators never saw: their 5 seeds make
the query, every other of their songs is a positive. The number reported for both scorers (and
that chooses between them) is the expected next-song HitRate@10: per user, the share of their
held-out songs in the top 10 (the chance that one held-out song drawn at random is there).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from .candidates import FEATURES

__all__ = [
    "DEFAULT_RANKER_PARAMS",
    "BlendScorer",
    "FeatureScorer",
    "LightGBMScorer",
    "RankerParams",
    "Scorer",
    "TrainingRows",
    "expected_next_song_hit_rate",
    "fit_blend",
    "train_lightgbm",
]

logger = logging.getLogger(__name__)

_COLUMN = {name: i for i, name in enumerate(FEATURES)}

#: The blend's features and its weights before fitting (z-scored generator scores, a popularity
#: penalty, same artist as a seed, the share of profile songs linking to the candidate). Training
#: without validation users ships these.
BLEND_START = {
    "rp3_z": 1.0,
    "cosine_z": 0.5,
    "svd_z": 0.5,
    "popularity_z": -0.2,
    "same_artist": 0.5,
    "links_share": 0.5,
}
#: L2 penalty on the blend's weights (over features scaled to unit variance) in :func:`fit_blend`:
#: it only keeps the optimum finite when a feature separates a few users' songs perfectly (1e-1
#: gave the same served figures as 1e-3 over 5 split seeds).
BLEND_L2 = 1e-3


class Scorer:
    """Base: ``score(features [c, F]) -> float [c]``, higher first."""

    kind = "scorer"

    @property
    def features(self) -> tuple[str, ...]:
        """The feature columns ``score`` reads: a request computes only these of the optional
        ones (:data:`ml.candidates.ON_DEMAND`). Default: every column."""
        return FEATURES

    def score(self, features: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict:
        return {"kind": self.kind}


@dataclass(frozen=True)
class FeatureScorer(Scorer):
    feature: str
    kind = "feature"

    @property
    def features(self) -> tuple[str, ...]:
        return (self.feature,)

    def score(self, features: np.ndarray) -> np.ndarray:
        return features[:, _COLUMN[self.feature]].astype(np.float64)

    def describe(self) -> dict:
        return {"kind": self.kind, "feature": self.feature}


@dataclass(frozen=True)
class BlendScorer(Scorer):
    weights: dict[str, float]
    kind = "blend"

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self.weights)

    def score(self, features: np.ndarray) -> np.ndarray:
        vector = np.zeros(len(FEATURES), dtype=np.float64)
        for name, weight in self.weights.items():
            vector[_COLUMN[name]] = weight
        return features.astype(np.float64) @ vector

    def describe(self) -> dict:
        return {"kind": self.kind, "weights": dict(self.weights)}


@dataclass(frozen=True)
class LightGBMScorer(Scorer):
    booster: object  # lightgbm.Booster
    kind = "lightgbm"

    def score(self, features: np.ndarray) -> np.ndarray:
        # One thread: a request's few hundred rows are cheaper than a thread pool's wake-up, and
        # the server's workers already use every core.
        return self.booster.predict(features, raw_score=True, num_threads=1)

    def describe(self) -> dict:
        return {"kind": self.kind, "trees": int(self.booster.num_trees())}

    def to_text(self) -> str:
        return self.booster.model_to_string()

    @classmethod
    def from_text(cls, text: str) -> LightGBMScorer:
        """Parse LightGBM's text model; ValueError if it is not one or its features differ."""
        import lightgbm

        try:
            booster = lightgbm.Booster(model_str=text)
        except lightgbm.basic.LightGBMError as exc:
            raise ValueError(f"not a LightGBM text model ({exc})") from None
        if tuple(booster.feature_name()) != FEATURES:
            raise ValueError(f"the model's features {booster.feature_name()} are not this code's {list(FEATURES)}")
        return cls(booster)


@dataclass
class TrainingRows:
    """Candidate features of many queries stacked, with labels and the query each row belongs to."""

    features: np.ndarray  # float32 [rows, F]
    labels: np.ndarray  # int8 [rows]
    query_of: np.ndarray  # int64 [rows], non-decreasing
    n_relevant: np.ndarray  # int64 [queries]: held-out songs per query (also those never proposed)
    seconds: float = 0.0

    @property
    def n_queries(self) -> int:
        return int(self.n_relevant.shape[0])

    def subset(self, queries: np.ndarray) -> TrainingRows:
        """The rows of ``queries`` (sorted query numbers), renumbered 0..len(queries)-1 in that order."""
        queries = np.asarray(queries, dtype=np.int64)
        number = np.full(self.n_queries, -1, dtype=np.int64)
        number[queries] = np.arange(queries.shape[0])
        keep = number[self.query_of] >= 0
        return TrainingRows(
            features=self.features[keep],
            labels=self.labels[keep],
            query_of=number[self.query_of[keep]],
            n_relevant=self.n_relevant[queries],
        )


def expected_next_song_hit_rate(rows: TrainingRows, scores: np.ndarray, k: int = 10) -> float:
    """Mean over queries of (held-out songs in the top ``k`` by ``scores``) / (held-out songs)."""
    if rows.n_queries == 0:
        return 0.0
    order = np.lexsort((-scores, rows.query_of))
    starts = np.searchsorted(rows.query_of[order], np.arange(rows.n_queries))
    rank = np.arange(order.shape[0]) - starts[rows.query_of[order]]
    hits = np.bincount(rows.query_of[order][rank < k], weights=rows.labels[order][rank < k], minlength=rows.n_queries)
    return float(np.mean(hits / np.maximum(rows.n_relevant, 1)))


def fit_blend(rows: TrainingRows, *, l2: float = BLEND_L2) -> BlendScorer:
    """The blend's weights that maximise the listwise softmax likelihood of the held-out songs:
    per query, softmax over its candidates' blended scores, the mean log-probability of its
    positives; every query with a positive weighs the same, as in the metric.

    Why not the metric itself: HitRate@10 is a step function of the weights. A coordinate search
    of it over a grid (the previous fit) chose different weights on every split's ~680 validation
    users (rp3_z from 0.2 to 1.0, cosine_z from -0.5 to 0.2), and the served lists moved with that
    noise. This loss is smooth and convex in the weights: one optimum, found by L-BFGS, nearly the
    same on every split (rp3_z 0.33-0.44, svd_z 0.72-0.83). Over 5 split seeds x 3 next-song test
    draws on the playlist data, the served next-song HitRate@10 went from 0.0577 to 0.0616 (better
    in 11 of 15), all-remaining NDCG@10 from 0.315 to 0.325.
    """
    from scipy.optimize import minimize  # deferred: only training fits a blend

    if rows.query_of.size and np.any(np.diff(rows.query_of) < 0):
        raise ValueError("TrainingRows.query_of must be non-decreasing (rows grouped by query)")
    names = list(BLEND_START)
    positives = np.bincount(rows.query_of, weights=rows.labels, minlength=rows.n_queries)
    keep = positives[rows.query_of] > 0
    if not keep.any():
        return BlendScorer(dict(BLEND_START))
    features = rows.features[keep][:, [_COLUMN[name] for name in names]].astype(np.float64)
    scale = features.std(axis=0)
    scale[scale < 1e-12] = 1.0  # a constant column: its weight stays at the penalty's zero
    features /= scale
    query_of = rows.query_of[keep]
    starts = np.flatnonzero(np.diff(query_of, prepend=-1))  # query_of is non-decreasing
    segment = np.cumsum(np.diff(query_of, prepend=query_of[0]) != 0)
    labels = rows.labels[keep].astype(np.float64)
    target = labels / positives[query_of] / starts.shape[0]  # each query's positives share 1/queries
    query_weight = np.add.reduceat(target, starts)

    def loss_and_gradient(weights: np.ndarray) -> tuple[float, np.ndarray]:
        scores = features @ weights
        peak = np.maximum.reduceat(scores, starts)  # subtracted before exp: no overflow
        shifted = np.exp(scores - peak[segment])
        totals = np.add.reduceat(shifted, starts)
        log_norm = np.log(totals) + peak
        probabilities = shifted / totals[segment]
        loss = -float(target @ (scores - log_norm[segment])) + l2 * float(weights @ weights)
        gradient = -(features.T @ (target - probabilities * query_weight[segment])) + 2.0 * l2 * weights
        return loss, gradient

    start = np.array([BLEND_START[name] for name in names]) * scale
    result = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B")
    if not result.success:  # the best weights found still serve; say why the search stopped
        logger.warning("Blend fit stopped before converging: %s", result.message)
    fitted = result.x / scale
    return BlendScorer({name: float(weight) for name, weight in zip(names, fitted, strict=True)})


@dataclass(frozen=True)
class RankerParams:
    """LightGBM settings (binary objective beat lambdarank in the issue's prototype)."""

    n_trees: int = 300
    learning_rate: float = 0.03
    num_leaves: int = 15
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.8
    #: Share of the negative rows kept for fitting.
    negative_share: float = 0.25
    #: Fewer positives than this and the ranker is not trained (the blend serves).
    min_positives: int = 200
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "n_trees": self.n_trees,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "negative_share": self.negative_share,
            "min_positives": self.min_positives,
        }


DEFAULT_RANKER_PARAMS = RankerParams()


def train_lightgbm(
    rows: TrainingRows, params: RankerParams = DEFAULT_RANKER_PARAMS, *, seed: int = 0
) -> LightGBMScorer:
    """A binary LightGBM classifier over the candidate features (deterministic for a seed).

    Each row weighs 1 / (its user's held-out songs), so every validation user counts the same, as
    in the metric (a 200-song playlist would otherwise outweigh a 10-song one 20 times). Negatives
    are subsampled to ``negative_share`` (seeded) and weigh 1 / share, which keeps the expected
    loss and cuts the fitting time about in proportion.
    """
    import lightgbm

    started = time.perf_counter()
    keep = (rows.labels > 0) | (np.random.default_rng(seed).random(rows.labels.shape[0]) < params.negative_share)
    weights = (1.0 / np.maximum(rows.n_relevant, 1))[rows.query_of]
    weights = np.where(rows.labels > 0, weights, weights / params.negative_share)[keep]
    weights *= weights.shape[0] / max(float(weights.sum()), 1e-12)
    dataset = lightgbm.Dataset(
        rows.features[keep],
        label=rows.labels[keep].astype(np.float32),
        weight=weights.astype(np.float32),
        feature_name=list(FEATURES),
        free_raw_data=True,
    )
    booster = lightgbm.train(
        {
            "objective": "binary",
            "learning_rate": params.learning_rate,
            "num_leaves": params.num_leaves,
            "min_data_in_leaf": params.min_data_in_leaf,
            "feature_fraction": params.feature_fraction,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            # One thread: OpenMP's spinning threads slow training several-fold when the cores
            # are shared (measured 5x on this 2-core machine under load).
            "num_threads": 1,
            "verbosity": -1,
            **params.extra,
        },
        dataset,
        num_boost_round=params.n_trees,
    )
    logger.info(
        "LightGBM ranker: %d rows, %d trees in %.1fs",
        rows.labels.shape[0],
        params.n_trees,
        time.perf_counter() - started,
    )
    return LightGBMScorer(booster)
