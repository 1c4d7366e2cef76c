"""SVD fitting: sampled negatives in the trainset, determinism, divergence, rating scale."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest

from ml.errors import MLError
from ml.readers import read_interactions
from ml.split import build_catalog, split_users, user_item_matrix
from ml.train import TARGET_MEAN_RATING, SVDParams, build_trainset, fit_svd

SMALL = SVDParams(n_factors=16, n_epochs=5)


@pytest.fixture(scope="module")
def train_matrix(demo_csv: Path):
    data = read_interactions(demo_csv)
    train, _, _ = split_users(data.n_users, test_fraction=0.1, val_fraction=0.1, seed=0)
    catalog, users = build_catalog(data, train, min_item_users=2, min_user_items=2)
    return user_item_matrix(data, users, catalog)


def npy_sha(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def test_trainset_mixes_positives_and_negatives_without_overlap(train_matrix) -> None:
    trainset, n_neg, scale = build_trainset(train_matrix, SMALL.replace(neg_ratio=1.0), seed=0)
    assert n_neg == pytest.approx(train_matrix.matrix.nnz, rel=0.01)
    assert trainset.n_ratings == train_matrix.matrix.nnz + n_neg
    for user in range(0, train_matrix.n_users, 17):
        ratings = dict(trainset.ur[user])
        positives = set(train_matrix.indices[train_matrix.indptr[user] : train_matrix.indptr[user + 1]].tolist())
        negatives = {item for item, rating in trainset.ur[user] if rating == 0.0}
        assert positives.isdisjoint(negatives)
        assert positives == {item for item, rating in ratings.items() if rating > 0}
        assert len(ratings) == len(trainset.ur[user]), "no pair twice"
    positive_ratings = [r for u in trainset.ur for _, r in trainset.ur[u] if r > 0]
    assert np.mean(positive_ratings) == pytest.approx(TARGET_MEAN_RATING)
    assert scale > 0


def test_same_seed_same_bytes_other_seed_other_factors(train_matrix) -> None:
    first = fit_svd(train_matrix, SMALL, seed=5)
    again = fit_svd(train_matrix, SMALL, seed=5)
    other = fit_svd(train_matrix, SMALL, seed=6)
    assert first.item_factors.dtype == np.float32
    assert first.item_factors.shape == (train_matrix.n_items, 16)
    assert npy_sha(first.item_factors) == npy_sha(again.item_factors)
    assert npy_sha(first.item_factors) != npy_sha(other.item_factors)


def test_divergence_is_an_error_not_nan_factors(train_matrix) -> None:
    with pytest.raises(MLError, match="diverged"):
        fit_svd(train_matrix, SMALL.replace(lr=50.0, n_epochs=20, init_std=1.0), seed=0)


def test_params_round_trip() -> None:
    params = SVDParams(n_factors=8, reg=0.5)
    assert SVDParams.from_dict({**params.to_dict(), "seed": 3}) == params
