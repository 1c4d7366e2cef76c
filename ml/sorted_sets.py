"""Sets of integers kept as sorted numpy arrays: the one membership test ``ml/`` uses.

numpy's general ``isin``/``union1d``/``unique`` pick a method per call and cost 30-75 µs each on the
few hundred rows of a served request; a sort and a binary search (``searchsorted``) answer the same
questions in a few µs, and serve the offline code's large arrays just as well.
"""

from __future__ import annotations

import numpy as np

__all__ = ["in_sorted", "sorted_unique"]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for a 1-D array: sorted, without repeats."""
    ordered = np.sort(values)
    if ordered.shape[0] < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def in_sorted(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_set)`` for an ascending ``sorted_set``: a bool per value, any shape."""
    values = np.asarray(values)
    if sorted_set.shape[0] == 0:
        return np.zeros(values.shape, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), sorted_set.shape[0] - 1)
    return sorted_set[at] == values
