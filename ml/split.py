"""User-level splits, the item catalog, and the cold-start evaluation cases.

The protocol (documented in ``ml/README.md``): users (playlists) are split at random (seeded)
into train / validation / test. A model never sees validation or test users; at query time such
a user is cold: ``n_seeds`` of their songs are picked at random (seeded) as seeds, every catalog
song except the seeds is ranked, and the user's other catalog songs are the relevant ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .readers import Interactions

__all__ = [
    "EvalCases",
    "UserItemMatrix",
    "build_catalog",
    "make_eval_cases",
    "make_next_song_cases",
    "rating_from_plays",
    "split_users",
    "user_item_matrix",
]


def rating_from_plays(plays: np.ndarray) -> np.ndarray:
    """The positive rating of a (user, song) pair: ``log10(plays + 1)``."""
    return np.log10(np.asarray(plays, dtype=np.float64) + 1.0)


@dataclass
class UserItemMatrix:
    """Users x catalog rows, CSR, with the summed plays as values (sorted indices)."""

    matrix: sp.csr_matrix  # float32 plays

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def indptr(self) -> np.ndarray:
        return self.matrix.indptr

    @property
    def indices(self) -> np.ndarray:
        return self.matrix.indices

    def popularity(self) -> np.ndarray:
        """Distinct users per item (int64)."""
        return np.bincount(self.matrix.indices, minlength=self.n_items).astype(np.int64)


@dataclass
class EvalCases:
    """Cold-start test cases: per user, the seed rows and the held-out relevant rows."""

    seeds: np.ndarray  # int64 [n_cases, n_seeds]
    heldout_indptr: np.ndarray  # int64 [n_cases + 1]
    heldout_indices: np.ndarray  # int64 catalog rows
    heldout_ratings: np.ndarray  # float64 log10(plays+1) of the held-out pairs (for RMSE/MAE)
    seed_ratings: np.ndarray  # float64 [n_cases, n_seeds]
    skipped_users: int = 0  # users with too few catalog songs to form a case

    @property
    def n_cases(self) -> int:
        return int(self.seeds.shape[0])

    def heldout(self, case: int) -> np.ndarray:
        return self.heldout_indices[self.heldout_indptr[case] : self.heldout_indptr[case + 1]]

    def subset(self, cases: np.ndarray) -> EvalCases:
        cases = np.asarray(cases, dtype=np.int64)
        starts, ends = self.heldout_indptr[cases], self.heldout_indptr[cases + 1]
        lengths = ends - starts
        take = (
            np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
            if cases.size
            else np.empty(0, np.int64)
        )
        indptr = np.zeros(cases.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        return EvalCases(
            seeds=self.seeds[cases],
            heldout_indptr=indptr,
            heldout_indices=self.heldout_indices[take],
            heldout_ratings=self.heldout_ratings[take],
            seed_ratings=self.seed_ratings[cases],
            skipped_users=self.skipped_users,
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "seeds": self.seeds,
            "heldout_indptr": self.heldout_indptr,
            "heldout_indices": self.heldout_indices,
            "heldout_ratings": self.heldout_ratings,
            "seed_ratings": self.seed_ratings,
            "skipped_users": np.asarray([self.skipped_users], dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays) -> EvalCases:
        return cls(
            seeds=np.asarray(arrays["seeds"], dtype=np.int64),
            heldout_indptr=np.asarray(arrays["heldout_indptr"], dtype=np.int64),
            heldout_indices=np.asarray(arrays["heldout_indices"], dtype=np.int64),
            heldout_ratings=np.asarray(arrays["heldout_ratings"], dtype=np.float64),
            seed_ratings=np.asarray(arrays["seed_ratings"], dtype=np.float64),
            skipped_users=int(np.asarray(arrays["skipped_users"])[0]),
        )


def split_users(
    n_users: int, *, test_fraction: float, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded user-level split; returns sorted user codes (train, validation, test)."""
    if not 0 <= test_fraction < 1 or not 0 <= val_fraction < 1 or test_fraction + val_fraction >= 1:
        raise ValueError("test_fraction and val_fraction must be in [0, 1) and sum to less than 1.")
    order = np.random.default_rng(seed).permutation(n_users)
    n_test = round(n_users * test_fraction)
    n_val = round(n_users * val_fraction)
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return np.sort(train), np.sort(val), np.sort(test)


def build_catalog(
    data: Interactions, users: np.ndarray, *, min_item_users: int, min_user_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """Items kept for a model trained on ``users``, and the users that keep enough items.

    An item stays if at least ``min_item_users`` of these users played it (a song heard by one
    user carries no co-occurrence signal); then users with fewer than ``min_user_items`` of the
    kept items are dropped from training. Returns (item codes in catalog row order, user codes).
    """
    in_users = np.zeros(data.n_users, dtype=bool)
    in_users[users] = True
    mask = in_users[data.users]
    item_users = np.bincount(data.items[mask], minlength=data.n_items)
    catalog = np.flatnonzero(item_users >= max(min_item_users, 1))
    keep_item = np.zeros(data.n_items, dtype=bool)
    keep_item[catalog] = True
    user_items = np.bincount(data.users[mask & keep_item[data.items]], minlength=data.n_users)
    kept_users = users[user_items[users] >= max(min_user_items, 1)]
    return catalog, kept_users


def user_item_matrix(data: Interactions, users: np.ndarray, catalog: np.ndarray) -> UserItemMatrix:
    """CSR of ``users`` (rows, in the given order) x catalog rows with summed plays."""
    row_of_item = np.full(data.n_items, -1, dtype=np.int64)
    row_of_item[catalog] = np.arange(catalog.shape[0])
    row_of_user = np.full(data.n_users, -1, dtype=np.int64)
    row_of_user[users] = np.arange(users.shape[0])
    rows, cols = row_of_user[data.users], row_of_item[data.items]
    keep = (rows >= 0) & (cols >= 0)
    matrix = sp.csr_matrix(
        (data.plays[keep].astype(np.float32), (rows[keep], cols[keep])),
        shape=(users.shape[0], catalog.shape[0]),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    return UserItemMatrix(matrix)


def _shuffled_users(matrix: UserItemMatrix, *, n_seeds: int, seed: int) -> tuple[list[np.ndarray], int]:
    """For each user with more than ``n_seeds`` catalog songs, the positions of their songs in
    ``matrix.indices`` in a seeded random order; and how many users had too few (skipped)."""
    rng = np.random.default_rng(seed)
    indptr = matrix.indptr
    orders: list[np.ndarray] = []
    skipped = 0
    for user in range(matrix.n_users):
        start, end = indptr[user], indptr[user + 1]
        if end - start <= n_seeds:
            skipped += 1
            continue
        orders.append(start + rng.permutation(end - start))
    return orders, skipped


def make_eval_cases(matrix: UserItemMatrix, *, n_seeds: int, seed: int) -> EvalCases:
    """For each user with more than ``n_seeds`` catalog songs: ``n_seeds`` random seeds, the rest
    held out. Users with too few songs are skipped (and counted)."""
    orders, skipped = _shuffled_users(matrix, n_seeds=n_seeds, seed=seed)
    indices, ratings = matrix.indices, rating_from_plays(matrix.matrix.data)
    rests = [np.sort(order[n_seeds:]) for order in orders]
    seeds = [indices[order[:n_seeds]] for order in orders]
    seed_ratings = [ratings[order[:n_seeds]] for order in orders]
    heldout_indptr = np.zeros(len(rests) + 1, dtype=np.int64)
    np.cumsum(np.asarray([rest.shape[0] for rest in rests], dtype=np.int64), out=heldout_indptr[1:])
    return EvalCases(
        seeds=np.asarray(seeds, dtype=np.int64).reshape(len(seeds), n_seeds),
        heldout_indptr=heldout_indptr,
        heldout_indices=(
            np.concatenate([indices[r] for r in rests]).astype(np.int64) if rests else np.empty(0, np.int64)
        ),
        heldout_ratings=np.concatenate([ratings[r] for r in rests]) if rests else np.empty(0, np.float64),
        seed_ratings=np.asarray(seed_ratings, dtype=np.float64).reshape(len(seeds), n_seeds),
        skipped_users=skipped,
    )


def make_next_song_cases(matrix: UserItemMatrix, *, n_seeds: int, seed: int) -> EvalCases:
    """The next-song protocol: for each user with more than ``n_seeds`` catalog songs, **one** song
    held out at random and ``n_seeds`` random other songs as seeds (seeded). Same users as
    :func:`make_eval_cases`; the one held-out song is the only relevant one."""
    orders, skipped = _shuffled_users(matrix, n_seeds=n_seeds, seed=seed)
    indices, ratings = matrix.indices, rating_from_plays(matrix.matrix.data)
    held = [indices[order[0]] for order in orders]
    held_ratings = [ratings[order[0]] for order in orders]
    seeds = [indices[order[1 : n_seeds + 1]] for order in orders]
    seed_ratings = [ratings[order[1 : n_seeds + 1]] for order in orders]
    n = len(held)
    return EvalCases(
        seeds=np.asarray(seeds, dtype=np.int64).reshape(n, n_seeds),
        heldout_indptr=np.arange(n + 1, dtype=np.int64),
        heldout_indices=np.asarray(held, dtype=np.int64),
        heldout_ratings=np.asarray(held_ratings, dtype=np.float64),
        seed_ratings=np.asarray(seed_ratings, dtype=np.float64).reshape(n, n_seeds),
        skipped_users=skipped,
    )
