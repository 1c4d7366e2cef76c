"""Stage one of the recommender: candidates from two generators, and their features.

Per request (a cold-start profile, an "Up next" song, a shelf) the candidates are the union of
the FAISS index's nearest songs to the query vector (SVD space) and the item graph's neighbours of
the profile's songs (:mod:`ml.graph`): a few hundred songs. Every feature is computed at once over
that set with numpy (no Python loop per candidate), so the same function serves a request online
and builds the re-ranker's training rows offline.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from .graph import ItemGraph
from .sorted_sets import in_sorted, sorted_unique

__all__ = ["FEATURES", "ON_DEMAND", "CandidateSet", "Query", "candidate_set"]

#: Songs asked from the FAISS index per request, and the cap on graph neighbours kept (by RP3beta
#: and by cosine, each) when a long profile links to more.
FAISS_CANDIDATES = 200
GRAPH_CANDIDATES = 200

#: The re-ranker's input columns, in order (the LightGBM model file stores the same names).
FEATURES = (
    "svd",  # cosine of the candidate's SVD vector with the query vector
    "svd_z",  # z-scored within the request
    "svd_rank",  # rank within the request's candidates, 0 = best
    "rp3",  # weighted RP3beta sum over the profile's songs
    "rp3_z",
    "rp3_rank",
    "cosine",  # weighted item-kNN cosine sum over the profile's songs
    "cosine_z",
    "cosine_rank",
    "cooc",  # weighted count of shared users with the profile's songs
    "links",  # how many profile songs have this candidate among their graph neighbours
    "links_share",  # links / profile songs
    "seed_sim_max",  # max SVD cosine with a profile song
    "seed_sim_mean",  # weighted mean SVD cosine with the profile songs
    "log_popularity",
    "popularity_z",
    "same_artist",  # shares an artist with a profile song
    "n_profile",  # profile songs in the request
    "from_faiss",  # 1 if the index proposed it
)
_COLUMN = {name: i for i, name in enumerate(FEATURES)}
#: Columns computed only when the caller asks for them (``candidate_set(columns=...)``; else 0):
#: each costs a request time of its own, and the blend the product serves reads none of them.
#: Skipping them made a served 1M-song cold-start list 0.59 -> 0.53 ms in one process.
ON_DEMAND = ("svd_rank", "rp3_rank", "cosine_rank", "seed_sim_max", "seed_sim_mean", "from_faiss")
_RANKS = ("svd_rank", "rp3_rank", "cosine_rank")  # of the first three z-score sources, in order
_Z_SOURCE_COLUMNS = [_COLUMN[name] for name in ("svd", "rp3", "cosine", "log_popularity")]
_Z_COLUMNS = [_COLUMN[name] for name in ("svd_z", "rp3_z", "cosine_z", "popularity_z")]


@dataclass(frozen=True)
class Query:
    """One request: the query vector (SVD space, unit) and the profile songs with their weights."""

    vector: np.ndarray  # float32 [d]
    rows: np.ndarray  # int64 profile rows (seeds, likes, the current song)
    weights: np.ndarray  # float64, same length: how much each profile row counts


@dataclass(frozen=True)
class CandidateSet:
    rows: np.ndarray  # int64 [c] candidate catalog rows, ascending
    features: np.ndarray  # float32 [c, len(FEATURES)]

    def column(self, name: str) -> np.ndarray:
        return self.features[:, _COLUMN[name]]

    def __len__(self) -> int:
        return int(self.rows.shape[0])


def _zscore_rows(block: np.ndarray) -> np.ndarray:
    """Each row of ``block`` [k, c] z-scored (a constant row gives zeros). The same float32
    arithmetic as ``(v - v.mean()) / v.std()`` per row, in one pass for all rows."""
    n = np.float32(block.shape[1])
    centred = block - block.sum(axis=1, keepdims=True) / n
    std = np.sqrt((centred * centred).sum(axis=1, keepdims=True) / n)
    std[std <= 1e-12] = np.inf  # a constant row: 0 / inf = 0
    return centred / std


def _rank(values: np.ndarray) -> np.ndarray:
    """Rank of each value, 0 = largest; ties go to the lower position (the lower catalog row, as
    candidates are sorted by row)."""
    rank = np.empty(values.shape[0], dtype=np.float32)
    rank[np.argsort(-values, kind="stable")] = np.arange(values.shape[0], dtype=np.float32)
    return rank


def _top(values: np.ndarray, k: int) -> np.ndarray:
    if values.shape[0] <= k:
        return np.arange(values.shape[0])
    return np.argpartition(-values, k - 1)[:k]


def candidate_set(
    query: Query,
    *,
    vectors: np.ndarray,
    search,
    graph: ItemGraph,
    popularity: np.ndarray,
    artist_codes: np.ndarray,
    excluded: np.ndarray,
    faiss_candidates: int = FAISS_CANDIDATES,
    graph_candidates: int = GRAPH_CANDIDATES,
    columns: Collection[str] = FEATURES,
) -> CandidateSet:
    """Candidates for ``query`` from both generators, minus ``excluded`` rows, with features.

    ``search`` is the FAISS index's ``search`` (or anything with its signature); ``excluded``
    (sorted or not) never appears among the candidates. ``columns``: the features the caller
    reads (a scorer's ``features``); those of :data:`ON_DEMAND` not among them are left at 0.
    """
    wanted = frozenset(columns)
    excluded = np.asarray(excluded, dtype=np.int64)
    n_items = vectors.shape[0]
    k = min(faiss_candidates + excluded.shape[0], n_items)
    _, found = search(query.vector.reshape(1, -1).astype(np.float32, copy=False), k)
    faiss_rows = sorted_unique(found[0][found[0] >= 0].astype(np.int64))

    graph_rows, sums, links = graph.neighbours(query.rows, query.weights)
    if graph_rows.shape[0] > graph_candidates:
        keep = np.zeros(graph_rows.shape[0], dtype=bool)
        keep[_top(sums["rp3"], graph_candidates)] = True
        keep[_top(sums["cosine"], graph_candidates)] = True
        graph_rows, links = graph_rows[keep], links[keep]
        sums = {name: values[keep] for name, values in sums.items()}

    rows = sorted_unique(np.concatenate([faiss_rows, graph_rows]))
    rows = rows[~in_sorted(rows, sorted_unique(excluded))]
    c = rows.shape[0]
    features = np.zeros((c, len(FEATURES)), dtype=np.float32)
    if c == 0:
        return CandidateSet(rows, features)
    in_graph = in_sorted(rows, graph_rows)  # graph_rows is sorted
    at = np.searchsorted(graph_rows, rows[in_graph])
    for name in ("rp3", "cosine", "cooc"):
        features[in_graph, _COLUMN[name]] = sums[name][at]
    features[in_graph, _COLUMN["links"]] = links[at]

    # One product for the query and every profile song, then [1 + p, c] with contiguous rows: numpy
    # reduces a [c, p] matrix along its short rows several times slower, and BLAS multiplies
    # candidates @ targets.T (then copies) faster than targets @ candidates.T (measured: 19 vs 44 us).
    # The profile songs stay in the product even when no seed_sim column is asked for: a product of
    # another shape rounds the svd column differently in its last bits, and the served list must be
    # the one the evaluation (every column) ranks.
    targets = np.empty((1 + query.rows.shape[0], vectors.shape[1]), dtype=np.float32)
    targets[0] = query.vector
    targets[1:] = vectors[query.rows]
    sims = np.ascontiguousarray((np.take(vectors, rows, axis=0) @ targets.T).T)
    features[:, _COLUMN["svd"]] = sims[0]
    seed_sims = sims[1:]  # [profile, c]
    if seed_sims.shape[0] and "seed_sim_max" in wanted:
        features[:, _COLUMN["seed_sim_max"]] = seed_sims.max(axis=0)
    if seed_sims.shape[0] and "seed_sim_mean" in wanted:
        weights = np.asarray(query.weights, dtype=np.float32)
        features[:, _COLUMN["seed_sim_mean"]] = (weights / max(float(weights.sum()), 1e-12)) @ seed_sims
    features[:, _COLUMN["log_popularity"]] = np.log1p(popularity[rows].astype(np.float32))
    features[:, _COLUMN["same_artist"]] = in_sorted(artist_codes[rows], sorted_unique(artist_codes[query.rows]))
    n_profile = float(query.rows.shape[0])
    features[:, _COLUMN["n_profile"]] = n_profile
    features[:, _COLUMN["links_share"]] = features[:, _COLUMN["links"]] / max(n_profile, 1.0)
    if "from_faiss" in wanted:
        features[:, _COLUMN["from_faiss"]] = in_sorted(rows, faiss_rows)
    scores = np.ascontiguousarray(features[:, _Z_SOURCE_COLUMNS].T)  # [4, c]: svd, rp3, cosine, log_popularity
    features[:, _Z_COLUMNS] = _zscore_rows(scores).T
    for i, name in enumerate(_RANKS):
        if name in wanted:
            features[:, _COLUMN[name]] = _rank(scores[i])
    return CandidateSet(rows, features)
