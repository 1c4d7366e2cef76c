"""FAISS index: exact below the threshold, HNSW above it with measured recall."""

from __future__ import annotations

import numpy as np
import pytest

from ml.index import build_index, measure_recall, read_index, write_index
from ml.recommend import serving_vectors


def test_flat_and_hnsw(tmp_path) -> None:
    vectors = serving_vectors(np.random.default_rng(0).normal(size=(2000, 16)))
    flat, flat_info = build_index(vectors, flat_max_items=5000)
    assert flat_info["kind"] == "flat"
    assert flat_info["metric"] == "inner_product"
    assert (flat_info["dims"], flat_info["ntotal"]) == (16, 2000)
    assert measure_recall(flat, vectors) == 1.0
    hnsw, info = build_index(vectors, flat_max_items=1000)
    assert info["kind"] == "hnsw"
    assert 0.9 <= info["recall_at_10"] <= 1.0
    write_index(hnsw, tmp_path / "i.faiss")
    again = read_index(tmp_path / "i.faiss")
    assert again.hnsw.efSearch == info["ef_search"]  # the search depth is stored in the file
    scores, rows = again.search(vectors[:3], 1)
    assert rows[:, 0].tolist() == [0, 1, 2]
    assert scores[:, 0] == pytest.approx(1.0, abs=1e-5)


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="Unknown index kind"):
        build_index(np.ones((2, 2), dtype=np.float32), kind="ivf")
