"""Metrics and rankers on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from ml.baselines import ItemKNNRanker, PopularityRanker, VectorRanker, top_k
from ml.evaluate import (
    coverage_at_k,
    hit_rate_at_k,
    mae,
    ndcg_at_k,
    rank_metrics,
    recall_at_k,
    relevance,
    rmse,
)
from ml.recommend import distance_from_score, query_vector, query_vectors, serving_vectors
from ml.split import EvalCases


def cases_from(seeds: list[list[int]], heldout: list[list[int]]) -> EvalCases:
    lengths = [len(h) for h in heldout]
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = np.asarray([i for h in heldout for i in h], dtype=np.int64)
    return EvalCases(
        seeds=np.asarray(seeds, dtype=np.int64),
        heldout_indptr=indptr,
        heldout_indices=flat,
        heldout_ratings=np.full(flat.shape, 0.30103),
        seed_ratings=np.full((len(seeds), len(seeds[0])), 0.30103),
    )


def test_hand_computed_ranking_metrics() -> None:
    # User 0: relevant {3, 7}; ranked [3, 5, 7] -> hit, DCG = 1 + 1/log2(4) = 1.5, IDCG = 1 + 1/log2(3).
    # User 1: relevant {9}; ranked [1, 2, 4] -> miss.
    cases = cases_from([[0], [0]], [[3, 7], [9]])
    top = np.array([[3, 5, 7], [1, 2, 4]])
    rel = relevance(top, cases, n_items=10)
    assert rel.tolist() == [[True, False, True], [False, False, False]]
    assert hit_rate_at_k(rel, 3) == 0.5
    assert hit_rate_at_k(rel, 1) == 0.5
    expected_ndcg = (1.5 / (1 + 1 / math.log2(3)) + 0.0) / 2
    assert ndcg_at_k(rel, np.array([2, 1]), 3) == pytest.approx(expected_ndcg)
    # Recall@3: user 0 found 2 of min(3, 2) = 1.0; user 1: 0 -> mean 0.5. Recall@1: 1/1 and 0.
    assert recall_at_k(rel, np.array([2, 1]), 3) == pytest.approx(0.5)
    assert recall_at_k(rel, np.array([2, 1]), 1) == pytest.approx(0.5)
    assert coverage_at_k(top, 10, 3) == pytest.approx(0.6)
    metrics = rank_metrics(top, cases, 10, k=3, recall_k=3)
    assert metrics["hit_rate@3"] == 0.5
    assert metrics["coverage@3"] == pytest.approx(0.6)


def test_perfect_ranking_has_ndcg_one_and_missing_slots_count_as_misses() -> None:
    cases = cases_from([[0]], [[4, 5]])
    rel = relevance(np.array([[5, 4, -1]]), cases, 10)
    assert ndcg_at_k(rel, np.array([2]), 3) == pytest.approx(1.0)
    assert relevance(np.array([[-1, -1]]), cases, 10).sum() == 0


def test_rmse_mae() -> None:
    assert rmse(np.array([1.0, 3.0]), np.array([2.0, 2.0])) == 1.0
    assert mae(np.array([1.0, 4.0]), np.array([2.0, 2.0])) == 1.5


def test_top_k_excludes_seeds_and_breaks_ties_by_row() -> None:
    scores = np.array([[0.5, 0.9, 0.5, 0.1, 0.5]], dtype=np.float32)
    assert top_k(scores.copy(), np.array([[1]]), 3).tolist() == [[0, 2, 4]]


def test_popularity_ranker() -> None:
    ranker = PopularityRanker(np.array([5, 1, 9, 9, 0]))
    assert ranker.top(np.array([[2], [0]]), 2).tolist() == [[3, 0], [2, 3]]


def test_item_knn_scores_are_summed_cosines() -> None:
    # users x items (binary): item 0 = {u0, u1}, item 1 = {u0}, item 2 = {u1, u2}, item 3 = {u2}
    matrix = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1]], dtype=np.float32) * 3)
    knn = ItemKNNRanker(matrix)
    scores = knn.scores(np.array([[0, 3]]))[0]
    # cos(0,1) = 1/sqrt(2); cos(0,2) = 1/2, cos(3,2) = 1/sqrt(2); cos(0,3) = 0
    assert scores[1] == pytest.approx(1 / math.sqrt(2))
    assert scores[2] == pytest.approx(0.5 + 1 / math.sqrt(2))
    assert knn.top(np.array([[0, 3]]), 2).tolist() == [[2, 1]]
    assert knn.similarities(np.array([0]), np.array([2, 3])) == pytest.approx(np.array([[0.5, 0.0]]))


def test_serving_and_query_vectors() -> None:
    factors = np.array([[3.0, 4.0], [0.0, 2.0], [0.0, 0.0]])
    vectors = serving_vectors(factors)
    assert vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"]
    assert vectors[0] == pytest.approx([0.6, 0.8])
    assert vectors[2].tolist() == [0.0, 0.0]
    query = query_vector(vectors, [0, 1])
    assert np.linalg.norm(query) == pytest.approx(1.0)
    assert query == pytest.approx(np.array([0.6, 1.8]) / np.linalg.norm([0.6, 1.8]))
    weighted = query_vector(vectors, [0, 1], [1.0, 2.0])
    assert weighted == pytest.approx(np.array([0.6, 2.8]) / np.linalg.norm([0.6, 2.8]))
    assert query_vectors(vectors, np.array([[0, 1]]))[0] == pytest.approx(query)
    assert distance_from_score(np.float32(1.0)) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="at least one row"):
        query_vector(vectors, [])
    with pytest.raises(ValueError, match="2 rows but 1 weights"):
        query_vector(vectors, [0, 1], [1.0])


def test_vector_ranker_ranks_by_cosine_to_the_seed_mean() -> None:
    vectors = serving_vectors(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.7, 0.7]]))
    assert VectorRanker(vectors).top(np.array([[0]]), 3).tolist() == [[1, 3, 2]]
