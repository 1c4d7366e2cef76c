"""FAISS index over the serving vectors (inner product on L2-normalised vectors = cosine).

Chosen by catalog size (``kind="auto"``):

* up to ``FLAT_MAX_ITEMS`` songs, exact search (``IndexFlatIP``): a query reads every vector,
  which is ~1 ms at 10k x 256 floats;
* above it, an inverted file (~4 sqrt(n) k-means lists): a query reads the ``nprobe`` lists
  nearest to it. The lists hold the vectors as float16 (``IndexIVFScalarQuantizer``, QT_fp16):
  half the bytes per probe, scores within ~1e-3 of exact and the same recall; the served
  ranking re-scores its candidates from the float32 vectors anyway. Reading
  every vector is memory-bandwidth bound (the default playlist model, 60k x 256 floats = 62 MB,
  took ~5 ms per query); the lists read at the tuned nprobe are a few percent of that. ``nprobe``
  is tuned at build time: the smallest (in ~25% steps) whose recall@10 reaches
  ``IVF_RECALL_TARGET`` for both seed draws below, on tuning queries separate from the reported
  ones.

HNSW (``IndexHNSWFlat``) stays available (``kind="hnsw"``); on the long tail it fell short of
recall 0.95 (below). Measured and not taken, on the 178k-song playlist model (nprobe tuned to
recall 0.97 as below; one query, 200 results, one thread): 2x or 2.7x the lists (nprobe 188 / 235)
took 0.70-0.80 ms per query against 0.67-0.74 ms at 4 sqrt(n); fewer dimensions for retrieval
(PCA to 64 or 128, then the exact vectors re-score 2-4x the results) lost the neighbours even with
every list probed (recall@10 0.35-0.52 for uniform seeds, 0.77-0.90 for popular ones).

Recall@10 against exact search is measured on cold-start style queries and stored in the manifest
for every kind, twice:

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
    "CODE_TOLERANCE",
    "FLAT_MAX_ITEMS",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_EF_SEARCH",
    "HNSW_M",
    "IVF_RECALL_TARGET",
    "build_index",
    "measure_recall",
    "read_index",
    "write_index",
]

logger = logging.getLogger(__name__)

FLAT_MAX_ITEMS = 10_000
#: nprobe is raised until recall@10 reaches this on both seed draws (the product target is 0.95;
#: the margin absorbs the difference between tuning and reporting queries).
IVF_RECALL_TARGET = 0.97
IVF_LISTS_PER_SQRT_N = 4
#: How the IVF lists store the vectors (``manifest.index.codes``; indexes built before it: float32).
IVF_CODES = "fp16"
#: The largest difference between a stored and a serving vector component, per storage: a fp16 code
#: of a unit-vector component is within ~3e-5 of it; another model's vectors differ by far more.
CODE_TOLERANCE = {"float32": 1e-5, "fp16": 1e-3}
IVF_MIN_LISTS = 16
KINDS = ("flat", "ivf", "hnsw")
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

    Returns ``(index, info)`` with info = {kind, metric, dims, ntotal, build_seconds,
    recall_at_10, recall_at_10_popular} plus the kind's search parameters (IVF: nlist, nprobe,
    recall_target; HNSW: m, ef_construction, ef_search). ``popularity`` (listeners per row)
    weights the seeds of ``recall_at_10_popular``; without it both are uniform.
    """
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dims = vectors.shape
    if kind == "auto":
        kind = "flat" if n <= flat_max_items else "ivf"
    if kind not in KINDS:
        raise ValueError(f"Unknown index kind {kind!r}; use auto, {', '.join(KINDS)}.")
    started = time.perf_counter()
    extra: dict = {}
    if kind == "flat":
        index = faiss.IndexFlatIP(dims)
        index.add(vectors)
    elif kind == "ivf":
        index, extra = _build_ivf(vectors, popularity=popularity, seed=seed)
    else:
        index = faiss.IndexHNSWFlat(dims, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.add(vectors)
        index.hnsw.efSearch = HNSW_EF_SEARCH
        extra = {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": HNSW_EF_SEARCH}
    info = {
        "kind": kind,
        "metric": "inner_product",
        "dims": int(dims),
        "ntotal": int(index.ntotal),
        "build_seconds": round(time.perf_counter() - started, 3),
        **extra,
        "recall_at_10": round(measure_recall(index, vectors, seed=seed), 4),
        "recall_at_10_popular": round(measure_recall(index, vectors, weights=popularity, seed=seed), 4),
    }
    logger.info("Built %s index over %d x %d in %.1fs", kind, n, dims, info["build_seconds"])
    return index, info


def _build_ivf(vectors: np.ndarray, *, popularity: np.ndarray | None, seed: int) -> tuple[object, dict]:
    """IVF with k-means lists of float16 codes and the smallest nprobe that reaches IVF_RECALL_TARGET.

    float16, not float32 (``IndexIVFFlat``): a query's time is reading its lists, so half the bytes
    is a third less time at the same nprobe and recall (178k songs, nprobe 121: 1.63 -> 1.13 ms per
    query; recall@10 0.977 / 1.000 either way). 8-bit codes were faster still but lost recall on
    popular seeds (1.000 -> 0.973)."""
    faiss = _faiss()
    n, dims = vectors.shape
    nlist = int(min(max(IVF_MIN_LISTS, IVF_LISTS_PER_SQRT_N * np.sqrt(n)), max(n // 39, 1)))
    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dims), dims, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
    )
    index.cp.seed = seed
    index.train(vectors)
    index.add(vectors)
    index.make_direct_map()  # reconstruct(row): loading spot-checks that the index holds these vectors
    # Tuning queries come from another seed than the reported recall, so the figure in the
    # manifest is not the one nprobe was fitted to.
    probes = [RecallProbe(vectors, weights=w, seed=seed + 1) for w in (None, popularity)]
    nprobe = 1
    while nprobe < nlist:
        index.nprobe = nprobe
        if min(probe.recall(index) for probe in probes) >= IVF_RECALL_TARGET:
            break
        # Steps of ~25%, not doubling: on a skewed catalog the lists near popular songs are
        # large, so each extra probe there is costly and overshooting the target is too.
        nprobe += max(1, nprobe // 4)
    index.nprobe = min(nprobe, nlist)
    return index, {
        "nlist": nlist,
        "nprobe": int(index.nprobe),
        "recall_target": IVF_RECALL_TARGET,
        "codes": IVF_CODES,
    }


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
    return RecallProbe(vectors, weights=weights, k=k, n_queries=n_queries, seed=seed).recall(index)


class RecallProbe:
    """Queries and their exact top-k, computed once, to score one index or many settings of one."""

    def __init__(
        self,
        vectors: np.ndarray,
        *,
        weights: np.ndarray | None = None,
        k: int = 10,
        n_queries: int = RECALL_QUERIES,
        seed: int = 0,
    ) -> None:
        faiss = _faiss()
        n = vectors.shape[0]
        self.k = min(k, n)
        if self.k == 0:
            return
        rng = np.random.default_rng(seed)
        size = (min(n_queries, max(n, 1)), RECALL_SEEDS_PER_QUERY)
        if weights is None or not np.any(weights > 0):
            seeds = rng.integers(0, n, size=size)
        else:
            p = np.asarray(weights, dtype=np.float64)
            seeds = rng.choice(n, size=size, p=p / p.sum())
        self.queries = query_vectors(vectors, seeds)
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        _, self.truth = exact.search(self.queries, self.k)

    def recall(self, index) -> float:
        if self.k == 0:
            return 1.0
        _, found = index.search(self.queries, self.k)
        hits = [np.intersect1d(t[t >= 0], f[f >= 0]).shape[0] for t, f in zip(self.truth, found, strict=True)]
        return float(np.mean(hits) / self.k)


def write_index(index, path: Path) -> None:
    _faiss().write_index(index, str(path))


def read_index(path: Path, info: dict | None = None):
    """Read an index; ``info`` (its manifest entry) restores the tuned search parameters."""
    index = _faiss().read_index(str(path))
    if info and info.get("kind") == "ivf":
        _faiss().extract_index_ivf(index).nprobe = int(info["nprobe"])
    elif info and info.get("kind") == "hnsw":
        index.hnsw.efSearch = int(info["ef_search"])
    return index
