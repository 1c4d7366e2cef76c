"""Rankers for cold-start queries (a set of seed rows -> the best other catalog rows).

All rankers answer the same question the server answers, in batches, so evaluation compares like
with like: the SVD (:class:`VectorRanker`, exact, or :class:`IndexRanker`, through the published
FAISS index), and the baselines :class:`PopularityRanker`, :class:`ItemKNNRanker` (cosine over the
binary user x item co-occurrence matrix, a strong baseline on playlist-like data),
:class:`RP3BetaRanker` (the full random-walk graph, not the truncated one the product serves from)
and :class:`EASERanker` (closed-form linear item model; dense, so only for small catalogs).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .recommend import query_vectors

__all__ = [
    "EASE_MAX_ITEMS",
    "EASERanker",
    "IndexRanker",
    "ItemKNNRanker",
    "PopularityRanker",
    "RP3BetaRanker",
    "Ranker",
    "VectorRanker",
    "top_k",
]

#: Dense score matrices are computed in batches of at most this many floats (~128 MB).
SCORE_BATCH_FLOATS = 32_000_000


def top_k(scores: np.ndarray, exclude: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` best scores per query, best first, ties broken by lower row; the
    ``exclude`` rows (the seeds) never appear. ``scores`` is modified in place."""
    n_queries, n_items = scores.shape
    np.put_along_axis(scores, exclude, -np.inf, axis=1)
    k = min(k, n_items)
    if k < n_items:
        candidates = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        candidates = np.tile(np.arange(n_items), (n_queries, 1))
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    order = np.lexsort((candidates, -candidate_scores), axis=1)
    return np.take_along_axis(candidates, order, axis=1)


class Ranker:
    """Base: subclasses implement :meth:`scores` (dense [n_queries, n_items]) or :meth:`top`."""

    name = "ranker"

    def __init__(self, n_items: int) -> None:
        self.n_items = n_items

    def scores(self, seeds: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def top(self, seeds: np.ndarray, k: int) -> np.ndarray:
        """Top-``k`` rows (best first) for every query row of ``seeds`` [n_queries, n_seeds]."""
        seeds = np.asarray(seeds, dtype=np.int64)
        batch = max(1, SCORE_BATCH_FLOATS // max(self.n_items, 1))
        out = [top_k(self.scores(seeds[i : i + batch]), seeds[i : i + batch], k) for i in range(0, len(seeds), batch)]
        return np.concatenate(out) if out else np.empty((0, k), dtype=np.int64)


class PopularityRanker(Ranker):
    """Most popular songs (distinct training users) first, whatever the seeds."""

    name = "popularity"

    def __init__(self, popularity: np.ndarray) -> None:
        super().__init__(int(popularity.shape[0]))
        self.popularity = np.asarray(popularity, dtype=np.float32)

    def scores(self, seeds: np.ndarray) -> np.ndarray:
        return np.tile(self.popularity, (len(seeds), 1))


class ItemKNNRanker(Ranker):
    """score(j) = sum over seeds s of cosine(s, j), cosine over the binary user x item matrix."""

    name = "item_knn"

    def __init__(self, matrix: sp.csr_matrix) -> None:
        super().__init__(int(matrix.shape[1]))
        binary = matrix.astype(np.float32, copy=True).tocsr()
        binary.data[:] = 1.0
        self.binary = binary
        self.binary_t = binary.T.tocsr()
        self.norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel()).astype(np.float32)
        self._inv_norms = np.where(self.norms > 0, 1.0 / np.maximum(self.norms, 1e-12), 0.0).astype(np.float32)

    def scores(self, seeds: np.ndarray) -> np.ndarray:
        n_queries, n_seeds = seeds.shape
        columns = np.repeat(np.arange(n_queries), n_seeds)
        rows = seeds.ravel()
        query = sp.csr_matrix((self._inv_norms[rows], (rows, columns)), shape=(self.n_items, n_queries))
        co_users = self.binary @ query  # users x queries
        dots = (self.binary_t @ co_users).toarray().T  # queries x items
        return np.ascontiguousarray(dots * self._inv_norms, dtype=np.float32)

    def similarities(self, seeds: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """cosine(seed, target) for the given seed rows x target rows (dense [len(seeds), len(targets)])."""
        left = self.binary_t[seeds]
        right = self.binary_t[targets]
        dots = (left @ right.T).toarray()
        return dots * self._inv_norms[seeds][:, None] * self._inv_norms[targets][None, :]


class RP3BetaRanker(Ranker):
    """score(j) = sum over seeds s of RP3beta w(s, j) (see :mod:`ml.graph`), over every song."""

    name = "rp3beta"

    def __init__(self, matrix: sp.csr_matrix, *, alpha: float = 0.5, beta: float = 0.25) -> None:
        super().__init__(int(matrix.shape[1]))
        binary = matrix.astype(np.float32, copy=True).tocsr()
        binary.data[:] = 1.0
        popularity = np.maximum(np.asarray(binary.sum(axis=0)).ravel(), 1.0)
        user_length = np.maximum(np.asarray(binary.sum(axis=1)).ravel(), 1.0)
        self.binary = binary
        self.binary_t = binary.T.tocsr()
        self.user_weight = np.power(user_length, -alpha).astype(np.float32)
        self.seed_weight = np.power(popularity, -alpha).astype(np.float32)
        self.target_weight = np.power(popularity, -beta).astype(np.float32)

    def scores(self, seeds: np.ndarray) -> np.ndarray:
        n_queries, n_seeds = seeds.shape
        columns = np.repeat(np.arange(n_queries), n_seeds)
        rows = seeds.ravel()
        query = sp.csr_matrix((self.seed_weight[rows], (rows, columns)), shape=(self.n_items, n_queries))
        walks = sp.diags(self.user_weight) @ (self.binary @ query)  # users x queries
        return np.ascontiguousarray((self.binary_t @ walks).toarray().T * self.target_weight, dtype=np.float32)


#: EASE needs a dense items x items inverse: only below this many songs (~400 MB at float32).
EASE_MAX_ITEMS = 10_000


class EASERanker(Ranker):
    """EASE (Steck 2019): B = I - P / diag(P), P = (X^T X + lambda I)^-1; score = sum of B's seed rows."""

    name = "ease"

    def __init__(self, matrix: sp.csr_matrix, *, l2: float = 200.0) -> None:
        super().__init__(int(matrix.shape[1]))
        if self.n_items > EASE_MAX_ITEMS:
            raise ValueError(f"EASE needs a dense {self.n_items}^2 matrix; it runs up to {EASE_MAX_ITEMS} songs.")
        binary = matrix.astype(np.float32, copy=True).tocsr()
        binary.data[:] = 1.0
        gram = (binary.T @ binary).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += l2
        inverse = np.linalg.inv(gram)
        weights = -inverse / np.diag(inverse)
        np.fill_diagonal(weights, 0.0)
        self.weights = weights.astype(np.float32)

    def scores(self, seeds: np.ndarray) -> np.ndarray:
        return self.weights[seeds].sum(axis=1)


class VectorRanker(Ranker):
    """Exact inner-product ranking over serving vectors with the served query formula."""

    name = "svd"

    def __init__(self, vectors: np.ndarray) -> None:
        super().__init__(int(vectors.shape[0]))
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def scores(self, seeds: np.ndarray) -> np.ndarray:
        return query_vectors(self.vectors, seeds) @ self.vectors.T


class IndexRanker(Ranker):
    """Ranking through a FAISS index (what the server does); seeds filtered out of the results."""

    name = "svd"

    def __init__(self, vectors: np.ndarray, index) -> None:
        super().__init__(int(vectors.shape[0]))
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = index

    def top(self, seeds: np.ndarray, k: int) -> np.ndarray:
        seeds = np.asarray(seeds, dtype=np.int64)
        want = min(k + seeds.shape[1], self.n_items)
        _, found = self.index.search(query_vectors(self.vectors, seeds), want)
        out = np.full((seeds.shape[0], k), -1, dtype=np.int64)
        for row, (hits, seed_rows) in enumerate(zip(found, seeds, strict=True)):
            hits = hits[(hits >= 0) & ~np.isin(hits, seed_rows)][:k]
            out[row, : hits.shape[0]] = hits
        return out
