"""Surprise SVD on implicit data, with popularity-weighted sampled negatives.

Positives are ``rating = log10(plays + 1)``; sampled unobserved songs are rating 0 (see
:mod:`ml.negatives`). The Surprise ``Trainset`` is built directly from CSR arrays (no pandas, no
``Dataset``), with each user's positives and negatives shuffled together: Surprise's SGD visits
ratings in trainset order, so unshuffled lists would show it all positives, then all negatives.

Ratings are rescaled for training so the mean positive is ``log10(2)``, the rating of a single
play: a playlist file (every pair one "play") and a scrobble file (heavy-tailed play counts, mean
rating 0.6 or more) then put the same scale of error through SGD, and the learning rate,
regularisation and init scale mean the same thing on both. Relative weights between pairs are
kept. Without it the defaults tuned on playlists overfit a scrobble file badly (HitRate@10 0.58 vs
0.82 on the demo data).

Same data + same seed gives byte-identical factors (Surprise's SGD is single-threaded and seeded).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
from surprise import SVD, Trainset

from .errors import MLError
from .negatives import sample_negatives
from .split import UserItemMatrix, rating_from_plays

#: Training ratings are scaled so their positive mean equals this (one play).
TARGET_MEAN_RATING = float(np.log10(2.0))

__all__ = [
    "DEFAULT_PARAMS",
    "OLD_RECIPE_PARAMS",
    "TARGET_MEAN_RATING",
    "SVDModel",
    "SVDParams",
    "build_trainset",
    "fit_svd",
    "rating_scale_for",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SVDParams:
    """Everything that defines a fit. Defaults are the product (see ``ml/README.md``).

    ``init_std`` matters more than it looks: positives are small numbers (log10(2) = 0.30 for a
    single play), so factors initialised at Surprise's default 0.1 would stay mostly noise and a
    cosine over them would rank noise; too small and SGD barely breaks symmetry.
    """

    n_factors: int = 256
    n_epochs: int = 35
    lr: float = 0.07
    reg: float = 0.02
    init_std: float = 0.03
    neg_ratio: float = 1.0
    neg_alpha: float = 0.5
    biased: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> SVDParams:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def replace(self, **changes) -> SVDParams:
        return SVDParams(**{**self.to_dict(), **changes})


DEFAULT_PARAMS = SVDParams()

#: The replaced product's recipe: observed pairs only, Surprise's defaults (biased, 100 factors,
#: lr 0.005, reg 0.02, init 0.1). The benchmark tunes it by RMSE, as the old system was.
OLD_RECIPE_PARAMS = SVDParams(
    n_factors=100, n_epochs=20, lr=0.005, reg=0.02, init_std=0.1, neg_ratio=0.0, neg_alpha=0.0, biased=True
)


@dataclass
class SVDModel:
    """The parts of a fitted SVD that evaluation and serving need (no Surprise object kept)."""

    item_factors: np.ndarray  # float32 [n_items, k]
    item_bias: np.ndarray  # float32 [n_items] (zeros for an unbiased model)
    global_mean: float  # 0.0 for an unbiased model (in the scaled rating space)
    params: SVDParams
    n_ratings: int
    n_negatives: int
    fit_seconds: float
    rating_scale: float = 1.0  # training rating = rating * rating_scale


def rating_scale_for(ratings: np.ndarray) -> float:
    """Factor that brings the mean positive rating to :data:`TARGET_MEAN_RATING`."""
    mean = float(np.mean(ratings)) if len(ratings) else 0.0
    return TARGET_MEAN_RATING / mean if mean > 0 else 1.0


def build_trainset(train: UserItemMatrix, params: SVDParams, *, seed: int) -> tuple[Trainset, int, float]:
    """Surprise Trainset with positives and sampled negatives.

    Returns (trainset, n_negatives, rating_scale). Raw ids are the integer row numbers, so
    inner ids equal catalog rows.
    """
    rng = np.random.default_rng(seed)
    indptr = train.indptr.astype(np.int64)
    indices = train.indices.astype(np.int64)
    ratings = rating_from_plays(train.matrix.data)
    scale = rating_scale_for(ratings)
    ratings = ratings * scale
    popularity = train.popularity()
    if params.neg_ratio > 0:
        neg_indptr, neg_indices = sample_negatives(
            indptr,
            indices,
            train.n_items,
            ratio=params.neg_ratio,
            alpha=params.neg_alpha,
            popularity=popularity,
            rng=rng,
        )
    else:
        neg_indptr, neg_indices = np.zeros(train.n_users + 1, dtype=np.int64), np.empty(0, dtype=np.int32)

    # Interleave positives and negatives per user in one vectorised shuffle: sort all ratings by
    # (user, random key).
    n_pos, n_neg = indices.shape[0], neg_indices.shape[0]
    users = np.concatenate(
        [
            np.repeat(np.arange(train.n_users), np.diff(indptr)),
            np.repeat(np.arange(train.n_users), np.diff(neg_indptr)),
        ]
    )
    items = np.concatenate([indices, neg_indices.astype(np.int64)])
    values = np.concatenate([ratings, np.zeros(n_neg)])
    order = np.lexsort((rng.random(users.shape[0]), users))
    items, values = items[order].tolist(), values[order].tolist()
    bounds = np.zeros(train.n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(users, minlength=train.n_users), out=bounds[1:])
    bounds_list = bounds.tolist()
    ur = {
        u: list(
            zip(items[bounds_list[u] : bounds_list[u + 1]], values[bounds_list[u] : bounds_list[u + 1]], strict=True)
        )
        for u in range(train.n_users)
    }
    # Surprise's SVD only walks `ur`; `ir` is required by the constructor but unused by SVD.
    low = 0.0 if n_neg or not n_pos else float(min(values))
    high = float(max(values)) if values else 1.0
    trainset = Trainset(ur, {}, train.n_users, train.n_items, n_pos + n_neg, (low, max(high, low + 1e-9)), {}, {})
    return trainset, n_neg, scale


def fit_svd(train: UserItemMatrix, params: SVDParams = DEFAULT_PARAMS, *, seed: int = 0) -> SVDModel:
    """Fit Surprise SVD on ``train`` (users x catalog rows) and return item factors.

    Raises MLError if SGD diverged (non-finite factors: learning rate too high for the data).
    """
    started = time.perf_counter()
    trainset, n_neg, scale = build_trainset(train, params, seed=seed)
    algo = SVD(
        n_factors=params.n_factors,
        n_epochs=params.n_epochs,
        biased=params.biased,
        init_mean=0.0,
        init_std_dev=params.init_std,
        lr_all=params.lr,
        reg_all=params.reg,
        random_state=seed,
    )
    with np.errstate(over="ignore", invalid="ignore"):
        algo.fit(trainset)
    factors = np.ascontiguousarray(algo.qi, dtype=np.float32)
    if not np.isfinite(factors).all():
        raise MLError(f"SVD training diverged (non-finite factors) with {params}; lower the learning rate.")
    seconds = time.perf_counter() - started
    logger.info("Fitted SVD %s on %d ratings (%d negatives) in %.1fs", params, trainset.n_ratings, n_neg, seconds)
    return SVDModel(
        item_factors=factors,
        item_bias=np.asarray(algo.bi, dtype=np.float32),
        global_mean=float(trainset.global_mean) if params.biased else 0.0,
        params=params,
        n_ratings=int(trainset.n_ratings),
        n_negatives=int(n_neg),
        fit_seconds=seconds,
        rating_scale=scale,
    )
