"""How item factors become serving vectors and query vectors; shared by offline evaluation and the
server (the served ranking itself is :mod:`ml.served`).

* The index is built over :func:`serving_vectors`: the SVD item factors, L2-normalised per row.
* A cold-start user is :func:`query_vector`: the (weighted) mean of the seed rows' serving
  vectors, L2-normalised.
* The distance reported to clients is :func:`distance_from_score` = ``1 - inner_product`` with the
  query vector (cosine distance; 0 is identical, smaller is closer, range [0, 2]); since the
  re-ranker, it describes the song, not the list's order.

Exploratory runs on the playlist data while building the pipeline (not kept in ``bench/results``)
found plain cosine best among the variants tried for the SVD's own score: scoring with partially
normalised factors (which favours popular songs) or adding the SVD item bias ranked worse once
negatives are sampled by popularity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["distance_from_score", "query_vector", "query_vectors", "serving_vectors"]

_EPS = 1e-12


def serving_vectors(factors: np.ndarray) -> np.ndarray:
    """Row-L2-normalised float32 copy of ``factors`` (C-contiguous). A zero row stays zero."""
    vectors = np.array(factors, dtype=np.float32, order="C", copy=True)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, np.maximum(norms, _EPS), out=vectors)
    return vectors


def query_vector(vectors: np.ndarray, rows: Sequence[int], weights: Sequence[float] | None = None) -> np.ndarray:
    """The cold-start user vector: weighted mean of ``vectors[rows]``, L2-normalised, float32 (d,).

    ``weights`` default to 1 each (the contract: seeds weigh 1, liked songs ``LIKED_WEIGHT``).
    Raises ValueError for no rows or mismatched weights.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size == 0:
        raise ValueError("query_vector needs at least one row.")
    if weights is None:
        w = np.ones(rows.shape[0], dtype=np.float32)
    else:
        w = np.asarray(weights, dtype=np.float32)
        if w.shape != rows.shape:
            raise ValueError(f"query_vector got {rows.shape[0]} rows but {w.shape[0]} weights.")
    query = w @ vectors[rows]
    norm = float(np.linalg.norm(query))
    return (query / max(norm, _EPS)).astype(np.float32)


def query_vectors(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Batch form of :func:`query_vector` with equal weights: ``rows`` int [n_queries, n_seeds]
    -> float32 [n_queries, d] (used by evaluation)."""
    rows = np.asarray(rows, dtype=np.int64)
    queries = vectors[rows].sum(axis=1, dtype=np.float32)
    norms = np.linalg.norm(queries, axis=1, keepdims=True)
    return np.ascontiguousarray(queries / np.maximum(norms, _EPS), dtype=np.float32)


def distance_from_score(scores: np.ndarray | float) -> np.ndarray | float:
    """Cosine distance reported to clients: ``1 - inner_product`` on normalised vectors."""
    return 1.0 - scores
