"""Fitting the second stage: the scorer over the candidates, learned on validation users.

``train`` first fits the candidate generators (SVD, item graph) on the training users only, so the
validation users are as new to them as a real cold-start listener. Each validation user's 5 seeds
make a query through the served candidate code (:func:`ml.served.rank_candidates`'s inputs); every
candidate that is one of the user's other songs is a positive. On those rows:

* the blend's weights are tuned (:func:`ml.ranker.tune_blend`), the floor;
* a LightGBM binary classifier is trained (:func:`ml.ranker.train_lightgbm`) when there are enough
  positives; it becomes the product's scorer if it beats the blend on held-aside validation users
  (a quarter of them, never used to fit it), else the blend serves.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from .candidates import FEATURES
from .ranker import (
    DEFAULT_RANKER_PARAMS,
    BlendScorer,
    FeatureScorer,
    LightGBMScorer,
    RankerParams,
    Scorer,
    TrainingRows,
    expected_next_song_hit_rate,
    train_lightgbm,
    tune_blend,
)
from .served import RankingModel, candidates_for, profile_query
from .split import EvalCases

__all__ = ["ScorerFit", "artist_codes_of", "exact_index", "fit_scorer", "ranker_serves", "training_rows"]

logger = logging.getLogger(__name__)

#: Validation users used to fit the scorer (more add little and cost time).
MAX_TRAINING_QUERIES = 2000
#: Share of them held aside to choose between the blend and the ranker.
HOLDOUT_SHARE = 0.25
#: The LightGBM ranker serves only when it beats the blend by this share on the held-aside users.
#: It costs ~3.6 ms per request (300 trees over ~400 candidates, one thread; the blend ~0.01 ms),
#: and on the playlist data it did not rank better where it counts: over 5 split seeds the served
#: next-song HitRate@10 was 0.0514 with the ranker and 0.0574 with the blend (raw 0.0664 / 0.0670).
#: A held-aside quarter of ~650 validation users gives ~160 users, whose figure moves by ~10% from
#: one draw to another, so a smaller lead is noise.
RANKER_MIN_GAIN = 0.10


def exact_index(vectors: np.ndarray):
    """An exact inner-product FAISS index over ``vectors`` (offline candidate generation)."""
    import faiss  # deferred: importing faiss costs ~0.3 s

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def artist_codes_of(artists: list[str]) -> np.ndarray:
    """int32 code per song; equal codes = same artist (case-insensitive), for the artist cap."""
    code_of: dict[str, int] = {}
    return np.fromiter(
        (code_of.setdefault(artist.casefold(), len(code_of)) for artist in artists), dtype=np.int32, count=len(artists)
    )


def training_rows(model: RankingModel, cases: EvalCases) -> TrainingRows:
    """Candidate features of every case's seed query, labelled by the case's held-out songs."""
    started = time.perf_counter()
    features, labels, query_of = [], [], []
    for case in range(cases.n_cases):
        seeds = cases.seeds[case]
        candidates = candidates_for(model, profile_query(model, seeds), seeds)
        features.append(candidates.features)
        labels.append(np.isin(candidates.rows, cases.heldout(case)).astype(np.int8))
        query_of.append(np.full(len(candidates), case, dtype=np.int64))
    return TrainingRows(
        features=np.concatenate(features) if features else np.zeros((0, len(FEATURES)), np.float32),
        labels=np.concatenate(labels) if labels else np.zeros(0, np.int8),
        query_of=np.concatenate(query_of) if query_of else np.zeros(0, np.int64),
        n_relevant=np.diff(cases.heldout_indptr).astype(np.int64),
        seconds=round(time.perf_counter() - started, 2),
    )


@dataclass
class ScorerFit:
    """What :func:`fit_scorer` chose and how each option did on held-aside validation users."""

    scorer: Scorer  # the product's: the ranker if it won on the held-aside users, else the blend
    blend: BlendScorer
    ranker: LightGBMScorer | None
    validation: dict = field(default_factory=dict)  # option -> expected next-song HitRate@10
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def kind(self) -> str:
        return self.scorer.kind


def ranker_serves(validation: dict[str, float]) -> bool:
    """Whether the ranker's held-aside figure leads the blend's by :data:`RANKER_MIN_GAIN`."""
    return "ranker" in validation and validation["ranker"] >= validation["blend"] * (1.0 + RANKER_MIN_GAIN)


def fit_scorer(
    model: RankingModel, cases: EvalCases, *, params: RankerParams = DEFAULT_RANKER_PARAMS, seed: int = 0
) -> ScorerFit:
    """Tune the blend and train the LightGBM ranker on ``cases`` (validation users) through
    ``model``'s candidate generators (its own scorer is not used)."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    if cases.n_cases > MAX_TRAINING_QUERIES:
        cases = cases.subset(np.sort(rng.choice(cases.n_cases, MAX_TRAINING_QUERIES, replace=False)))
    order = rng.permutation(cases.n_cases)
    n_holdout = round(cases.n_cases * HOLDOUT_SHARE) if cases.n_cases >= 8 else 0
    fit_cases, holdout_cases = cases.subset(np.sort(order[n_holdout:])), cases.subset(np.sort(order[:n_holdout]))
    fit_rows = training_rows(model, fit_cases)
    holdout_rows = training_rows(model, holdout_cases) if n_holdout else fit_rows
    blend, _ = tune_blend(fit_rows)
    options: dict[str, Scorer] = {"svd": FeatureScorer("svd"), "graph": FeatureScorer("rp3"), "blend": blend}
    positives = int(fit_rows.labels.sum())
    ranker = None
    if positives >= params.min_positives:
        ranker = train_lightgbm(fit_rows, params, seed=seed)
        options["ranker"] = ranker
    validation = {
        name: round(expected_next_song_hit_rate(holdout_rows, scorer.score(holdout_rows.features)), 5)
        for name, scorer in options.items()
    }
    chosen: Scorer = ranker if ranker is not None and ranker_serves(validation) else blend
    logger.info("Scorer fit on %d queries: %s -> %s", fit_rows.n_queries, validation, chosen.kind)
    return ScorerFit(
        scorer=chosen,
        blend=blend,
        ranker=ranker,
        validation=validation,
        counts={
            "fit_queries": fit_rows.n_queries,
            "holdout_queries": holdout_rows.n_queries if n_holdout else 0,
            "rows": int(fit_rows.labels.shape[0]),
            "positives": positives,
        },
        seconds=round(time.perf_counter() - started, 2),
    )
