"""Popularity-weighted negative sampling for implicit feedback.

Implicit data only has positives. A model fitted on positives alone (the old recipe) can reach a
low RMSE by predicting "everything is liked" and learns almost nothing about ranking. Sampling
unobserved items as rating 0 gives it something to rank against. Drawing them with probability
proportional to ``popularity ** alpha`` makes the negatives informative: a popular song a user did
*not* play says more than an obscure one, and it stops the model from ranking by popularity alone.
"""

from __future__ import annotations

import numpy as np

from .sorted_sets import in_sorted

__all__ = ["sample_negatives"]

_OVERSAMPLE = 1.3
_MAX_ROUNDS = 8


def sample_negatives(
    indptr: np.ndarray,
    indices: np.ndarray,
    n_items: int,
    *,
    ratio: float,
    alpha: float,
    popularity: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample unobserved items per user, as CSR arrays ``(neg_indptr, neg_indices)``.

    User ``u`` (positives ``indices[indptr[u]:indptr[u+1]]``) gets ``round(ratio * n_pos)``
    distinct items it never interacted with (fewer only if the catalog has fewer left), drawn with
    probability proportional to ``popularity ** alpha`` (``alpha=0``: uniform). Deterministic for
    a given ``rng`` state. Vectorised over users; a few rounds of redraws top up users whose draws
    collided with their positives, and a uniform pass over the remaining complement finishes any
    user still short.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    n_users = indptr.shape[0] - 1
    n_pos = np.diff(indptr)
    want = np.minimum(np.rint(ratio * n_pos).astype(np.int64), n_items - n_pos)
    want = np.maximum(want, 0)
    if n_users == 0 or want.sum() == 0:
        return np.zeros(n_users + 1, dtype=np.int64), np.empty(0, dtype=np.int32)

    weights = np.maximum(np.asarray(popularity, dtype=np.float64), 0.0) ** alpha if alpha else np.ones(n_items)
    weights[weights <= 0] = 0.0
    if weights.sum() <= 0:
        weights = np.ones(n_items)
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]

    observed = np.repeat(np.arange(n_users, dtype=np.int64), n_pos) * n_items + indices
    observed.sort()
    chosen_keys = np.empty(0, dtype=np.int64)
    chosen_rank = np.empty(0, dtype=np.int64)  # draw order, so truncation keeps a random subset
    have = np.zeros(n_users, dtype=np.int64)
    drawn = 0
    for _ in range(_MAX_ROUNDS):
        short = want - have
        if not (short > 0).any():
            break
        # Oversample more for users whose positives carry much of the sampling mass.
        draws = np.where(short > 0, np.ceil(short * _OVERSAMPLE).astype(np.int64) + 2, 0)
        users = np.repeat(np.arange(n_users, dtype=np.int64), draws)
        items = np.searchsorted(cdf, rng.random(users.shape[0]), side="right")
        np.minimum(items, n_items - 1, out=items)
        keys = users * n_items + items
        rank = drawn + np.arange(keys.shape[0], dtype=np.int64)
        drawn += keys.shape[0]
        fresh = ~in_sorted(keys, observed)
        keys, rank = np.concatenate([chosen_keys, keys[fresh]]), np.concatenate([chosen_rank, rank[fresh]])
        # Keep the first draw of every (user, item); then keep each user's first `want` draws.
        keys, first = np.unique(keys, return_index=True)
        rank = rank[first]
        order = np.lexsort((rank, keys // n_items))
        keys, rank = keys[order], rank[order]
        user_of = keys // n_items
        starts = np.searchsorted(user_of, np.arange(n_users))
        position_in_user = np.arange(keys.shape[0]) - starts[user_of]
        keep = position_in_user < want[user_of]
        chosen_keys, chosen_rank = keys[keep], rank[keep]
        have = np.bincount(chosen_keys // n_items, minlength=n_users)

    short_users = np.flatnonzero(want - have > 0)
    if short_users.size:
        extra = [chosen_keys]
        for user in short_users.tolist():
            taken = np.concatenate(
                [indices[indptr[user] : indptr[user + 1]], chosen_keys[chosen_keys // n_items == user] % n_items]
            )
            free = np.setdiff1d(np.arange(n_items, dtype=np.int64), taken, assume_unique=False)
            pick = rng.choice(free, size=int(want[user] - have[user]), replace=False)
            extra.append(user * n_items + np.sort(pick))
        chosen_keys = np.concatenate(extra)

    user_of = chosen_keys // n_items
    order = np.argsort(user_of, kind="stable")
    chosen_keys = chosen_keys[order]
    neg_indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(chosen_keys // n_items, minlength=n_users), out=neg_indptr[1:])
    return neg_indptr, (chosen_keys % n_items).astype(np.int32)
