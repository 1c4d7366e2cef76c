"""FAISS index over the serving vectors (inner product on L2-normalised vectors = cosine).

Exact search (``IndexFlatIP``) up to ``FLAT_MAX_ITEMS`` songs: at 100k x 256 floats a query is
~25M multiply-adds, a few milliseconds. Above it, HNSW (``IndexHNSWFlat``), whose recall@10
against exact search is measured on cold-start style queries and stored in the manifest, twice:

* ``recall_at_10``: seeds drawn uniformly, i.e. mostly long-tail songs. Songs heard by a
  single user get vectors that crowd together with near-equal scores, so HNSW misses more of the
  exact top 10 there (the playlist data with every song kept, efSearch 256: 0.70-0.77 depending
  on the fit, against 0.99 for popular seeds; the missed songs score within ~0.006 of the ones
  found);
* ``recall_at_10_popular``: seeds drawn in proportion to popularity, as people pick them when
  onboarding.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from .recommend import query_vectors

__all__ = [
    "FLAT_MAX_ITEMS",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_EF_SEARCH",
    "HNSW_M",
    "build_index",
    "measure_recall",
    "read_index",
    "write_index",
]

logger = logging.getLogger(__name__)

FLAT_MAX_ITEMS = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256
RECALL_QUERIES = 1000
RECALL_SEEDS_PER_QUERY = 5


def _faiss():
    import faiss  # deferred: importing faiss costs ~0.3 s and the readers do not need it

    return faiss


def build_index(
    vectors: np.ndarray,
    *,
    kind: str = "auto",
    flat_max_items: int = FLAT_MAX_ITEMS,
    popularity: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[object, dict]:
    """Build the index over ``vectors`` (float32, rows L2-normalised).

    Returns ``(index, info)`` with info = {kind, metric, dims, ntotal, build_seconds} plus, for
    HNSW, {m, ef_construction, ef_search, recall_at_10, recall_at_10_popular}. ``popularity``
    (listeners per row) weights the seeds of ``recall_at_10_popular``; without it both are uniform.
    """
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dims = vectors.shape
    if kind == "auto":
        kind = "flat" if n <= flat_max_items else "hnsw"
    if kind not in ("flat", "hnsw"):
        raise ValueError(f"Unknown index kind {kind!r}; use auto, flat or hnsw.")
    started = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexFlatIP(dims)
    else:
        index = faiss.IndexHNSWFlat(dims, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.add(vectors)
    if kind == "hnsw":
        index.hnsw.efSearch = HNSW_EF_SEARCH
    info = {
        "kind": kind,
        "metric": "inner_product",
        "dims": int(dims),
        "ntotal": int(index.ntotal),
        "build_seconds": round(time.perf_counter() - started, 3),
    }
    if kind == "hnsw":
        info.update(
            m=HNSW_M,
            ef_construction=HNSW_EF_CONSTRUCTION,
            ef_search=HNSW_EF_SEARCH,
            recall_at_10=round(measure_recall(index, vectors, seed=seed), 4),
            recall_at_10_popular=round(measure_recall(index, vectors, weights=popularity, seed=seed), 4),
        )
    logger.info("Built %s index over %d x %d in %.1fs", kind, n, dims, info["build_seconds"])
    return index, info


def measure_recall(
    index,
    vectors: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    k: int = 10,
    n_queries: int = RECALL_QUERIES,
    seed: int = 0,
) -> float:
    """Mean |approx top-k ∩ exact top-k| / k over cold-start style queries (the normalised mean
    of ``RECALL_SEEDS_PER_QUERY`` random rows, as served), rows drawn in proportion to
    ``weights`` (uniformly without)."""
    faiss = _faiss()
    n = vectors.shape[0]
    k = min(k, n)
    if k == 0:
        return 1.0
    rng = np.random.default_rng(seed)
    size = (min(n_queries, max(n, 1)), RECALL_SEEDS_PER_QUERY)
    if weights is None or not np.any(weights > 0):
        seeds = rng.integers(0, n, size=size)
    else:
        p = np.asarray(weights, dtype=np.float64)
        seeds = rng.choice(n, size=size, p=p / p.sum())
    queries = query_vectors(vectors, seeds)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, k)
    _, found = index.search(queries, k)
    hits = [np.intersect1d(t[t >= 0], f[f >= 0]).shape[0] for t, f in zip(truth, found, strict=True)]
    return float(np.mean(hits) / k)


def write_index(index, path: Path) -> None:
    _faiss().write_index(index, str(path))


def read_index(path: Path):
    return _faiss().read_index(str(path))
