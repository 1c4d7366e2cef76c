"""The sparse item–item graph: the second candidate generator beside the FAISS index.

For every song, its strongest neighbours by two measures over the binary users x songs matrix
``X`` (a user = a playlist or a listener):

* **RP3beta** (Paudel et al. 2017; a 3-step random walk song -> user -> song, damped by the
  target's popularity): ``w(i, j) = pop_i^-alpha * sum_u X_ui X_uj |u|^-alpha * pop_j^-beta``.
  Strong on playlist data, and it favours less popular neighbours than plain co-occurrence;
* **cosine** (item-kNN): ``co(i, j) / sqrt(pop_i * pop_j)``.

A pair is kept when it is among the top ``k`` of either measure for its row (diagonal excluded),
so both live on **one sparsity pattern**: one ``indptr``/``indices`` pair and a float32 value array
per measure (and the raw co-occurrence count). That keeps the graph a few bytes per edge
(~16 B/edge: 4 index + 3 x 4 values). It is built block by block (rows of ``X^T X``), so memory
stays bounded by one block's co-occurrences, never the dense square.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["GraphParams", "ItemGraph", "binary_matrix", "build_item_graph"]

logger = logging.getLogger(__name__)

#: Rows of X^T X computed at once: bounds peak memory by one block's co-occurrence pairs.
GRAPH_BLOCK_ROWS = 2048


@dataclass(frozen=True)
class GraphParams:
    """Neighbours per song per measure and RP3beta's exponents (defaults: see ``ml/README.md``)."""

    k: int = 50
    alpha: float = 0.5
    beta: float = 0.25

    def to_dict(self) -> dict:
        return {"k": self.k, "alpha": self.alpha, "beta": self.beta}

    @classmethod
    def from_dict(cls, values: dict) -> GraphParams:
        return cls(k=int(values["k"]), alpha=float(values["alpha"]), beta=float(values["beta"]))


DEFAULT_GRAPH_PARAMS = GraphParams()


@dataclass(frozen=True)
class ItemGraph:
    """Top-k neighbours per song, CSR over catalog rows; three value arrays on one pattern."""

    indptr: np.ndarray  # int64 [n + 1]
    indices: np.ndarray  # int32 [nnz], sorted within each row
    rp3: np.ndarray  # float32 [nnz]
    cosine: np.ndarray  # float32 [nnz]
    cooc: np.ndarray  # float32 [nnz]: users the two songs share
    params: GraphParams

    @property
    def n_items(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "indptr": self.indptr,
            "indices": self.indices,
            "rp3": self.rp3,
            "cosine": self.cosine,
            "cooc": self.cooc,
            "params": np.asarray([self.params.k, self.params.alpha, self.params.beta], dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays, *, n_items: int) -> ItemGraph:
        """Rebuild from :meth:`to_arrays` output, checking shapes and dtypes (ValueError if wrong)."""
        indptr, indices = np.asarray(arrays["indptr"]), np.asarray(arrays["indices"])
        values = {name: np.asarray(arrays[name]) for name in ("rp3", "cosine", "cooc")}
        k, alpha, beta = (float(x) for x in np.asarray(arrays["params"]))
        if indptr.dtype != np.int64 or indices.dtype != np.int32:
            raise ValueError(f"graph index arrays must be int64/int32, found {indptr.dtype}/{indices.dtype}")
        if indptr.shape != (n_items + 1,) or indptr[0] != 0 or indptr[-1] != indices.shape[0]:
            raise ValueError(f"graph indptr does not describe {n_items} songs and {indices.shape[0]} edges")
        if np.any(np.diff(indptr) < 0) or (indices.size and (indices.min() < 0 or indices.max() >= n_items)):
            raise ValueError("graph indptr is not monotone or an index is outside the catalog")
        for name, array in values.items():
            if array.dtype != np.float32 or array.shape != indices.shape or not np.isfinite(array).all():
                raise ValueError(f"graph values {name!r} must be finite float32 with one value per edge")
        return cls(indptr, indices, params=GraphParams(int(k), alpha, beta), **values)

    def neighbours(self, rows: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Union of the neighbours of ``rows``: (sorted candidate rows, {measure: weighted sum over
        the rows}, how many of ``rows`` link to each candidate)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            empty = np.empty(0, dtype=np.float32)
            return np.empty(0, dtype=np.int64), {"rp3": empty, "cosine": empty, "cooc": empty}, empty
        # Every edge position of every row, [starts[0], ends[0]) + [starts[1], ends[1]) + ..., at once:
        # position i of the concatenation belongs to the row whose edges begin at offsets[row].
        offsets = np.cumsum(lengths) - lengths
        positions = np.arange(total) + np.repeat(starts - offsets, lengths)
        edge_weight = np.repeat(np.asarray(weights, dtype=np.float64), lengths)
        candidates, inverse = np.unique(self.indices[positions], return_inverse=True)
        size = candidates.shape[0]
        sums = {
            name: np.bincount(inverse, weights=getattr(self, name)[positions] * edge_weight, minlength=size).astype(
                np.float32
            )
            for name in ("rp3", "cosine", "cooc")
        }
        links = np.bincount(inverse, minlength=size).astype(np.float32)
        return candidates.astype(np.int64), sums, links


def binary_matrix(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """float32 CSR copy of ``matrix`` with every stored value 1 (who played what)."""
    binary = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    binary.data[:] = 1.0
    return binary


def _rank_within_rows(row_of: np.ndarray, values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """0-based rank of each entry within its row, largest value first (ties: lower position)."""
    order = np.lexsort((-values, row_of))
    rank = np.empty(values.shape[0], dtype=np.int64)
    rank[order] = np.arange(values.shape[0]) - np.repeat(indptr[:-1], np.diff(indptr))
    return rank


def build_item_graph(matrix: sp.csr_matrix, params: GraphParams = DEFAULT_GRAPH_PARAMS) -> ItemGraph:
    """The item graph of a users x songs training matrix (values ignored: who played what)."""
    started = time.perf_counter()
    binary = binary_matrix(matrix)
    n_items = binary.shape[1]
    popularity = np.asarray(binary.sum(axis=0)).ravel().astype(np.float64)
    user_length = np.asarray(binary.sum(axis=1)).ravel().astype(np.float64)
    weighted = sp.csr_matrix(binary, copy=True)  # X_uj * |u|^-alpha
    weighted.data = (np.repeat(np.power(np.maximum(user_length, 1.0), -params.alpha), np.diff(binary.indptr))).astype(
        np.float32
    )
    items_by_user = binary.T.tocsr()
    inv_pop_alpha = np.power(np.maximum(popularity, 1.0), -params.alpha)
    inv_pop_beta = np.power(np.maximum(popularity, 1.0), -params.beta)
    inv_sqrt_pop = 1.0 / np.sqrt(np.maximum(popularity, 1.0))

    parts_indptr = [np.zeros(1, dtype=np.int64)]
    parts: dict[str, list[np.ndarray]] = {"indices": [], "rp3": [], "cosine": [], "cooc": []}
    offset = 0
    for start in range(0, n_items, GRAPH_BLOCK_ROWS):
        block = items_by_user[start : start + GRAPH_BLOCK_ROWS]
        counts = (block @ binary).tocsr()
        walks = (block @ weighted).tocsr()
        counts.sort_indices()
        walks.sort_indices()
        if not np.array_equal(counts.indices, walks.indices):  # pragma: no cover - scipy invariant
            raise RuntimeError("co-occurrence and RP3beta products disagree on their sparsity pattern")
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        cols = counts.indices.astype(np.int64)
        off_diagonal = cols != rows + start
        cooc = np.where(off_diagonal, counts.data, 0.0)
        rp3 = walks.data * inv_pop_alpha[rows + start] * inv_pop_beta[cols]
        cosine = cooc * inv_sqrt_pop[rows + start] * inv_sqrt_pop[cols]
        rp3 = np.where(off_diagonal, rp3, 0.0)
        keep = off_diagonal & (
            (_rank_within_rows(rows, rp3, counts.indptr) < params.k)
            | (_rank_within_rows(rows, cosine, counts.indptr) < params.k)
        )
        kept_per_row = np.bincount(rows[keep], minlength=counts.shape[0])
        parts_indptr.append(offset + np.cumsum(kept_per_row))
        offset += int(kept_per_row.sum())
        parts["indices"].append(cols[keep].astype(np.int32))
        parts["rp3"].append(rp3[keep].astype(np.float32))
        parts["cosine"].append(cosine[keep].astype(np.float32))
        parts["cooc"].append(cooc[keep].astype(np.float32))
    arrays = {name: np.concatenate(chunks) if chunks else np.empty(0) for name, chunks in parts.items()}
    graph = ItemGraph(
        indptr=np.concatenate(parts_indptr).astype(np.int64),
        indices=arrays["indices"].astype(np.int32),
        rp3=arrays["rp3"].astype(np.float32),
        cosine=arrays["cosine"].astype(np.float32),
        cooc=arrays["cooc"].astype(np.float32),
        params=params,
    )
    logger.info(
        "Item graph: %d songs, %d edges (%.1f per song) in %.1fs",
        n_items,
        graph.nnz,
        graph.nnz / max(n_items, 1),
        time.perf_counter() - started,
    )
    return graph
