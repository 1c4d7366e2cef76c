"""The sorted-array set helpers answer exactly what numpy's general routines answer."""

from __future__ import annotations

import numpy as np

from ml.sorted_sets import in_sorted, sorted_unique


def test_they_agree_with_numpy_on_random_sets_of_any_size_and_shape() -> None:
    rng = np.random.default_rng(0)
    for size in (0, 1, 2, 7, 300):
        values = rng.integers(-5, 40, size=size)
        assert np.array_equal(sorted_unique(values), np.unique(values))
        members = sorted_unique(rng.integers(0, 30, size=rng.integers(0, 20)))
        queries = rng.integers(-3, 45, size=(4, 6))  # beyond both ends of the set, too
        assert np.array_equal(in_sorted(queries, members), np.isin(queries, members))
        assert np.array_equal(in_sorted(values, members), np.isin(values, members))
