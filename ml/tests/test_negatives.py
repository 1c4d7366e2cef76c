"""Negative sampling: never an observed pair, distinct, the asked-for count, popularity-skewed."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ml.negatives import sample_negatives


def random_csr(n_users: int, n_items: int, density: float, seed: int) -> sp.csr_matrix:
    matrix = sp.random(n_users, n_items, density=density, format="csr", random_state=seed)
    matrix.sort_indices()
    return matrix


def test_no_observed_pair_is_sampled_and_counts_are_met() -> None:
    matrix = random_csr(200, 300, 0.1, seed=1)
    popularity = np.bincount(matrix.indices, minlength=300)
    rng = np.random.default_rng(0)
    neg_indptr, neg_indices = sample_negatives(
        matrix.indptr, matrix.indices, 300, ratio=2.0, alpha=0.75, popularity=popularity, rng=rng
    )
    n_pos = np.diff(matrix.indptr)
    assert np.array_equal(np.diff(neg_indptr), np.minimum(2 * n_pos, 300 - n_pos))
    for user in range(200):
        negatives = neg_indices[neg_indptr[user] : neg_indptr[user + 1]]
        positives = matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]]
        assert np.intersect1d(negatives, positives).size == 0
        assert np.unique(negatives).size == negatives.size


def test_user_with_almost_every_item_gets_the_rest() -> None:
    # User 0 has 9 of 10 items: with ratio 3 only one negative exists, and it must be found even
    # though the popularity-weighted draw almost never hits it.
    indptr = np.array([0, 9, 10])
    indices = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 0])
    popularity = np.array([1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1])
    neg_indptr, neg_indices = sample_negatives(
        indptr, indices, 10, ratio=3.0, alpha=1.0, popularity=popularity, rng=np.random.default_rng(0)
    )
    assert neg_indices[neg_indptr[0] : neg_indptr[1]].tolist() == [9]
    assert neg_indptr[2] - neg_indptr[1] == 3
    assert 0 not in neg_indices[neg_indptr[1] :].tolist()


def test_popularity_weighting_and_uniform() -> None:
    n_users, n_items = 2000, 50
    indptr = np.arange(n_users + 1)
    indices = np.zeros(n_users, dtype=np.int64)  # everyone played item 0
    popularity = np.arange(1, n_items + 1, dtype=float) ** 2
    _, weighted = sample_negatives(
        indptr, indices, n_items, ratio=1.0, alpha=1.0, popularity=popularity, rng=np.random.default_rng(1)
    )
    _, uniform = sample_negatives(
        indptr, indices, n_items, ratio=1.0, alpha=0.0, popularity=popularity, rng=np.random.default_rng(1)
    )
    assert (weighted >= 40).mean() == pytest.approx(20785 / 42924, abs=0.04)  # sum(41..50)² / sum(2..50)²
    assert 0.1 < (uniform >= 40).mean() < 0.3


def test_deterministic_for_a_seed_and_zero_ratio() -> None:
    matrix = random_csr(50, 80, 0.1, seed=2)
    popularity = np.bincount(matrix.indices, minlength=80)
    args = (matrix.indptr, matrix.indices, 80)
    first = sample_negatives(*args, ratio=1.5, alpha=0.5, popularity=popularity, rng=np.random.default_rng(3))
    again = sample_negatives(*args, ratio=1.5, alpha=0.5, popularity=popularity, rng=np.random.default_rng(3))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    none_indptr, none = sample_negatives(
        *args, ratio=0.0, alpha=0.5, popularity=popularity, rng=np.random.default_rng(3)
    )
    assert none.size == 0
    assert none_indptr.shape == (51,)
