"""The evaluation stage: both protocols, the served lists and every baseline in one run.

Protocols (held-out users the model never saw; details in ``ml/README.md``):

* ``next_song``: per user one song held out at random (seeded), 5 other songs as seeds;
  HitRate@10, MRR@10 and NDCG@10 of that one song over the whole catalog.
* ``all_remaining``: 5 random seeds, all the user's other songs relevant; HitRate@10, NDCG@10,
  Recall@50, coverage@10.

Methods, same cases:

* baselines over the whole catalog: ``popularity``, ``item_knn`` (cosine), ``rp3beta``, ``ease``
  (only up to :data:`ml.baselines.EASE_MAX_ITEMS` songs), and ``svd`` (the SVD vectors alone,
  exact or through the published index);
* the two-stage recommender with each scorer (the ablation: ``svd`` = FAISS+graph candidates
  ranked by SVD score, ``graph`` = by RP3beta, ``blend``, ``ranker``), each **raw** (candidates by
  score) and **served** (after MMR, the artist cap and the exclusions: :func:`ml.served.diversify`,
  the code the API runs). ``product`` names the scorer the model serves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from .baselines import EASE_MAX_ITEMS, EASERanker, ItemKNNRanker, PopularityRanker, Ranker, RP3BetaRanker
from .evaluate import evaluate_rankers, rank_metrics
from .ranker import Scorer
from .served import (
    DEFAULT_MAX_PER_ARTIST,
    DEFAULT_MMR_LAMBDA,
    RankingModel,
    candidates_for,
    diversify,
    profile_query,
)
from .split import EvalCases

__all__ = ["PROTOCOLS", "EvaluationReport", "baseline_rankers", "evaluate_product", "format_report"]

logger = logging.getLogger(__name__)

PROTOCOLS = ("next_song", "all_remaining")
K = 10
RECALL_K = 50


@dataclass
class EvaluationReport:
    """``results[protocol][method] = {metric: value}``; ``product`` = the served scorer's name."""

    results: dict[str, dict[str, dict]]
    product: str
    cases: dict[str, int]
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def served(self, protocol: str) -> dict:
        return self.results[protocol][f"{self.product} served"]

    def to_dict(self) -> dict:
        return {
            "results": self.results,
            "product": self.product,
            "cases": self.cases,
            "seconds": self.seconds,
            "timings": self.timings,
        }

    @classmethod
    def from_dict(cls, values: dict) -> EvaluationReport:
        return cls(
            results=values["results"],
            product=values["product"],
            cases=values["cases"],
            seconds=values.get("seconds", 0.0),
            timings=values.get("timings", {}),
        )


def baseline_rankers(train_matrix: sp.csr_matrix, *, svd: Ranker | None = None, ease: bool = True) -> dict[str, Ranker]:
    """The baselines on ``train_matrix`` (EASE only when the catalog is small enough)."""
    popularity = np.bincount(train_matrix.indices, minlength=train_matrix.shape[1])
    rankers: dict[str, Ranker] = {
        "popularity": PopularityRanker(popularity),
        "item_knn": ItemKNNRanker(train_matrix),
        "rp3beta": RP3BetaRanker(train_matrix),
    }
    if ease and train_matrix.shape[1] <= EASE_MAX_ITEMS:
        rankers["ease"] = EASERanker(train_matrix)
    if svd is not None:
        rankers["svd"] = svd
    return rankers


def _two_stage_lists(
    model: RankingModel,
    scorers: Mapping[str, Scorer],
    product: str,
    cases: EvalCases,
    *,
    mmr_lambda: float,
    max_per_artist: int,
    uncapped: bool = False,
    progress: bool = False,
    label: str = "evaluate",
) -> dict[str, dict[str, np.ndarray]]:
    """Per scorer: raw top-50 and served top-10 rows for every case (-1 = none); for the product's
    scorer only, to keep the ablation affordable, served top-50 (for Recall@50) and, with
    ``uncapped``, the same list without the artist cap (what the contract's cap costs at that
    depth). ``progress``
    draws a bar over the cases, on a terminal only (a log or a pipe gets no bar fragments)."""
    n = cases.n_cases
    lists = {
        name: {
            "raw": np.full((n, RECALL_K), -1, dtype=np.int64),
            "served": np.full((n, K), -1, dtype=np.int64),
        }
        for name in scorers
    }
    lists[product]["served50"] = np.full((n, RECALL_K), -1, dtype=np.int64)
    if uncapped:
        lists[product]["uncapped50"] = np.full((n, RECALL_K), -1, dtype=np.int64)
    for case in tqdm(range(n), desc=label, unit="user", disable=None if progress else True, leave=False):
        seeds = cases.seeds[case]
        query = profile_query(model, seeds)
        candidates = candidates_for(model, query, seeds)
        avoided = {int(s) for s in seeds}
        for name, scorer in scorers.items():
            scores = scorer.score(candidates.features)
            order = np.lexsort((candidates.rows, -scores))
            rows, ordered = candidates.rows[order], scores[order]
            lists[name]["raw"][case, : min(RECALL_K, rows.shape[0])] = rows[:RECALL_K]
            for key, limit, cap in (
                ("served", K, max_per_artist),
                ("served50", RECALL_K, max_per_artist),
                ("uncapped50", RECALL_K, None),
            ):
                if key not in lists[name]:
                    continue
                picked = diversify(
                    model,
                    query,
                    rows,
                    ordered,
                    limit=limit,
                    banned=set(),
                    avoided=avoided,
                    mmr_lambda=mmr_lambda,
                    max_per_artist=cap,
                )
                lists[name][key][case, : len(picked)] = [r.row for r in picked]
    return lists


def evaluate_product(
    model: RankingModel,
    scorers: Mapping[str, Scorer],
    product: str,
    train_matrix: sp.csr_matrix,
    cases: Mapping[str, EvalCases],
    *,
    svd: Ranker | None = None,
    mmr_lambda: float = DEFAULT_MMR_LAMBDA,
    max_per_artist: int = DEFAULT_MAX_PER_ARTIST,
    ease: bool = True,
    rating_predictions: Mapping[str, np.ndarray] | None = None,
    progress: bool = False,
) -> EvaluationReport:
    """Every method on every protocol's cases (see the module docstring); ``progress``: a bar per
    protocol on a terminal."""
    started = time.perf_counter()
    n_items = train_matrix.shape[1]
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    baselines = baseline_rankers(train_matrix, svd=svd, ease=ease)
    timings["baselines_fit_s"] = round(time.perf_counter() - t0, 2)
    results: dict[str, dict[str, dict]] = {}
    for protocol, protocol_cases in cases.items():
        if protocol_cases.n_cases == 0:
            results[protocol] = {}
            continue
        t0 = time.perf_counter()
        table = evaluate_rankers(
            baselines,
            protocol_cases,
            n_items,
            k=K,
            recall_k=RECALL_K,
            rating_predictions=rating_predictions if protocol == "all_remaining" else None,
        )
        timings[f"{protocol}_baselines_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        lists = _two_stage_lists(
            model,
            scorers,
            product,
            protocol_cases,
            mmr_lambda=mmr_lambda,
            max_per_artist=max_per_artist,
            uncapped=f"recall@{RECALL_K}" in COLUMNS.get(protocol, ()),
            progress=progress,
            label=f"evaluate {protocol}",
        )
        for name, tops in lists.items():
            table[f"{name} raw"] = rank_metrics(tops["raw"], protocol_cases, n_items, k=K, recall_k=RECALL_K)
            served = rank_metrics(tops["served"], protocol_cases, n_items, k=K, recall_k=K)
            served.pop(f"recall@{K}", None)
            if "served50" in tops:
                served[f"recall@{RECALL_K}"] = rank_metrics(
                    tops["served50"], protocol_cases, n_items, k=K, recall_k=RECALL_K
                )[f"recall@{RECALL_K}"]
            table[f"{name} served"] = served
            if "uncapped50" in tops:
                table[f"{name} served, no artist cap"] = {
                    f"recall@{RECALL_K}": rank_metrics(
                        tops["uncapped50"], protocol_cases, n_items, k=K, recall_k=RECALL_K
                    )[f"recall@{RECALL_K}"]
                }
        timings[f"{protocol}_two_stage_s"] = round(time.perf_counter() - t0, 2)
        results[protocol] = table
    return EvaluationReport(
        results=results,
        product=product,
        cases={protocol: c.n_cases for protocol, c in cases.items()},
        seconds=round(time.perf_counter() - started, 2),
        timings=timings,
    )


COLUMNS = {
    "next_song": ("hit_rate@10", "mrr@10", "ndcg@10"),
    "all_remaining": ("hit_rate@10", "ndcg@10", "recall@50", "coverage@10", "rmse"),
}


def format_report(report: EvaluationReport) -> str:
    """Both protocols as fixed-width tables, the served product first, with its ratio to item-kNN."""
    blocks = []
    for protocol, table in report.results.items():
        if not table:
            blocks.append(f"{protocol}: no test users")
            continue
        columns = COLUMNS.get(protocol, ())
        width = max(len("method"), *(len(name) + 2 for name in table)) + 1  # + 2: the product's " *"
        header = f"{'method':<{width}}" + "".join(f"{c:>13}" for c in columns)
        lines = [f"{protocol} ({report.cases.get(protocol, 0)} test users)", header, "-" * len(header)]
        product = f"{report.product} served"
        names = [product] + [name for name in table if name != product]
        for name in names:
            metrics = table[name]
            label = f"{name} *" if name == product else name
            cells = "".join(
                f"{metrics[c]:>13.4f}" if isinstance(metrics.get(c), float) else f"{'n/a':>13}" for c in columns
            )
            lines.append(f"{label:<{width}}{cells}")
        knn = table.get("item_knn", {})
        ratios = ", ".join(
            f"{c} {table[product][c] / knn[c]:.3f}x"
            for c in columns
            if knn.get(c) and c in table[product] and c != "rmse"
        )
        lines.append(f"* = served product ({report.product}); vs item-kNN: {ratios}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
