"""FAISS index: exact below the threshold, IVF above it tuned to a measured recall; HNSW on request."""

from __future__ import annotations

import numpy as np
import pytest

from ml.index import IVF_RECALL_TARGET, build_index, measure_recall, read_index, write_index
from ml.recommend import serving_vectors


def test_flat_below_the_threshold_is_exact(tmp_path) -> None:
    vectors = serving_vectors(np.random.default_rng(0).normal(size=(2000, 16)))
    flat, info = build_index(vectors, flat_max_items=5000)
    assert info["kind"] == "flat"
    assert info["metric"] == "inner_product"
    assert (info["dims"], info["ntotal"]) == (16, 2000)
    assert info["recall_at_10"] == info["recall_at_10_popular"] == 1.0
    assert measure_recall(flat, vectors, seed=5) == 1.0


def test_ivf_above_the_threshold_reaches_the_recall_target_and_keeps_its_nprobe(tmp_path) -> None:
    vectors = serving_vectors(np.random.default_rng(0).normal(size=(2000, 16)))
    popularity = np.random.default_rng(1).zipf(1.5, size=2000).astype(float)
    ivf, info = build_index(vectors, flat_max_items=1000, popularity=popularity)
    assert info["kind"] == "ivf"
    assert 16 <= info["nlist"] <= 2000 // 39  # at least 39 training vectors per list
    assert 1 <= info["nprobe"] < info["nlist"]  # it reads only part of the catalog
    # Reported on other queries than nprobe was tuned on, so a little under the target is possible.
    assert info["recall_at_10"] >= IVF_RECALL_TARGET - 0.02
    assert info["recall_at_10_popular"] >= IVF_RECALL_TARGET - 0.02
    write_index(ivf, tmp_path / "i.faiss")
    again = read_index(tmp_path / "i.faiss", info)
    assert faiss_ivf(again).nprobe == info["nprobe"]
    assert measure_recall(again, vectors) == pytest.approx(info["recall_at_10"])
    scores, rows = again.search(vectors[:3], 1)
    assert rows[:, 0].tolist() == [0, 1, 2]
    # The lists hold float16 codes: a song's score against itself is 1 within their precision.
    assert info["codes"] == "fp16"
    assert scores[:, 0] == pytest.approx(1.0, abs=1e-3)


def test_hnsw_on_request(tmp_path) -> None:
    vectors = serving_vectors(np.random.default_rng(0).normal(size=(2000, 16)))
    hnsw, info = build_index(vectors, kind="hnsw")
    assert info["kind"] == "hnsw"
    assert 0.9 <= info["recall_at_10"] <= 1.0
    write_index(hnsw, tmp_path / "i.faiss")
    assert read_index(tmp_path / "i.faiss", info).hnsw.efSearch == info["ef_search"]


def faiss_ivf(index):
    import faiss

    return faiss.extract_index_ivf(index)


def test_recall_is_measured_with_seeds_drawn_by_popularity() -> None:
    """An index that is right around row 7 and wrong everywhere else: recall with seeds drawn by
    popularity (all weight on row 7) is perfect, recall with uniform seeds is not."""
    import faiss

    rng = np.random.default_rng(1)
    near_row_7 = np.eye(8)[0] + 0.05 * rng.normal(size=(20, 8))
    elsewhere = np.eye(8)[1] + 0.5 * rng.normal(size=(480, 8))
    vectors = serving_vectors(np.vstack([near_row_7, elsewhere]))
    ids = np.concatenate([np.arange(20), 20 + rng.permutation(480)])  # labels scrambled away from rows 0-19
    index = faiss.IndexIDMap(faiss.IndexFlatIP(8))
    index.add_with_ids(vectors, ids)
    all_on_row_7 = np.zeros(500)
    all_on_row_7[7] = 1.0
    assert measure_recall(index, vectors, weights=all_on_row_7, n_queries=20) == 1.0
    assert measure_recall(index, vectors, n_queries=200) < 0.5
    assert measure_recall(index, vectors, weights=np.zeros(500), n_queries=200) < 0.5  # no weight: uniform


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="Unknown index kind"):
        build_index(np.ones((2, 2), dtype=np.float32), kind="annoy")
