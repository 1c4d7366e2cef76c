"""Turning a query vector into a diverse, rule-abiding list of catalog rows.

Pure numpy over the loaded model; no database, no Django. The rules (from the contract):
MMR re-ranking of a larger candidate pool, at most ``max_per_artist`` songs per artist, never an
excluded song. Excluded songs come in two kinds: ``banned`` rows (the current song, songs already
on another shelf) are never returned; ``avoided`` rows (seeds, liked songs) are returned only when
the catalog is too small to fill the list otherwise, and so is a third song by one artist.
Everything is deterministic: ties break on FAISS order, which is stable for a given index.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from core.metrics import recommendation_stage

from .model_store import ServingModel

#: Candidates fetched per requested result, before exclusions; MMR picks from this pool.
POOL_PER_RESULT = 4
MIN_POOL = 50
#: How many times the pool may grow when exclusions eat it (x4 each time).
MAX_POOL_GROWTHS = 3


@dataclass(frozen=True)
class Ranked:
    row: int
    distance: float  # 1 - inner product with the query: cosine distance on unit vectors


def _search(model: ServingModel, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, model.size)
    with recommendation_stage("faiss"):
        scores, rows = model.index.search(query.reshape(1, -1).astype(np.float32, copy=False), k)
    keep = rows[0] >= 0
    return rows[0][keep].astype(np.int64), scores[0][keep]


def _mmr(
    model: ServingModel,
    rows: np.ndarray,
    relevance: np.ndarray,
    *,
    limit: int,
    mmr_lambda: float,
    max_per_artist: int | None,
) -> list[int]:
    """Indices into ``rows`` picked greedily by maximal marginal relevance, under the artist cap."""
    if len(rows) == 0 or limit <= 0:
        return []
    vectors = model.vectors[rows]
    similarity = vectors @ vectors.T
    artists = model.artist_codes[rows]
    open_ = np.ones(len(rows), dtype=bool)
    closest_picked = np.full(len(rows), -np.inf, dtype=np.float32)
    per_artist: dict[int, int] = {}
    picked: list[int] = []
    while len(picked) < limit:
        penalty = np.where(np.isfinite(closest_picked), closest_picked, 0.0)
        gain = mmr_lambda * relevance - (1.0 - mmr_lambda) * penalty
        gain = np.where(open_, gain, -np.inf)
        best = int(np.argmax(gain))
        if not open_[best]:
            break
        picked.append(best)
        open_[best] = False
        closest_picked = np.maximum(closest_picked, similarity[best])
        artist = int(artists[best])
        per_artist[artist] = per_artist.get(artist, 0) + 1
        if max_per_artist is not None and per_artist[artist] >= max_per_artist:
            open_ &= artists != artist
    return picked


def recommend_rows(
    model: ServingModel,
    query: np.ndarray,
    *,
    limit: int,
    banned: Collection[int] = (),
    avoided: Collection[int] = (),
    mmr_lambda: float,
    max_per_artist: int,
    pool_per_result: int = POOL_PER_RESULT,
) -> list[Ranked]:
    """Up to ``limit`` rows close to ``query``; fewer only when the catalog cannot supply them."""
    banned_set = {int(r) for r in banned}
    avoided_set = {int(r) for r in avoided} - banned_set
    limit = min(limit, model.size - len(banned_set))
    if limit <= 0:
        return []
    excluded = np.fromiter(banned_set | avoided_set, dtype=np.int64, count=len(banned_set | avoided_set))
    wanted_pool = max(limit * pool_per_result, MIN_POOL)
    k = wanted_pool + len(excluded)
    for _ in range(MAX_POOL_GROWTHS + 1):
        rows, scores = _search(model, query, k)
        allowed = ~np.isin(rows, excluded)
        pool_rows, pool_scores = rows[allowed][:wanted_pool], scores[allowed][:wanted_pool]
        picked = _mmr(model, pool_rows, pool_scores, limit=limit, mmr_lambda=mmr_lambda, max_per_artist=max_per_artist)
        if len(picked) >= limit or k >= model.size:
            break
        k *= 4
    chosen = [Ranked(int(pool_rows[i]), float(1.0 - pool_scores[i])) for i in picked]
    if len(chosen) < limit:
        chosen += _fill_when_catalog_is_small(
            model, query, limit - len(chosen), banned=banned_set | {c.row for c in chosen}, avoided=avoided_set
        )
    return chosen


def _fill_when_catalog_is_small(
    model: ServingModel, query: np.ndarray, missing: int, *, banned: set[int], avoided: set[int]
) -> list[Ranked]:
    """Top up a short list: first songs over the artist cap, then avoided (seed/liked) songs."""
    rows, scores = _search(model, query, model.size)
    order = [(int(r), float(s)) for r, s in zip(rows, scores, strict=True) if int(r) not in banned]
    over_cap = [pair for pair in order if pair[0] not in avoided]
    avoided_pairs = [pair for pair in order if pair[0] in avoided]
    return [Ranked(row, 1.0 - score) for row, score in (over_cap + avoided_pairs)[:missing]]


def popular_rows(model: ServingModel, *, limit: int, banned: Collection[int] = (), max_per_artist: int) -> list[Ranked]:
    """The most popular songs, under the artist cap (the no-profile "For you" shelf).

    Their distance is measured to the catalog's popularity-weighted centroid: the taste of an
    average listener, the profile this shelf stands in for.
    """
    banned_set = set(banned)
    per_artist: dict[int, int] = {}
    chosen: list[Ranked] = []
    for row in model.popular_rows.tolist():
        if row in banned_set:
            continue
        artist = int(model.artist_codes[row])
        if per_artist.get(artist, 0) >= max_per_artist:
            continue
        per_artist[artist] = per_artist.get(artist, 0) + 1
        chosen.append(Ranked(row, float(1.0 - model.vectors[row] @ model.centroid)))
        if len(chosen) >= limit:
            break
    return chosen
