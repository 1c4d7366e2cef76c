"""The served ranking: from a listener's songs to the list they see. Called by the API
(``recommendations/services.py``) and by the offline evaluation, so what is measured is what is
served.

One request runs:

1. **Query** (the contract's formulas): cold start = weighted mean of the profile's serving vectors
   (seeds 1, likes ``LIKED_WEIGHT``), normalised; "Up next" = normalise(0.78 * song + 0.22 *
   profile), the graph walking from the song (weight 0.78) and the profile songs (0.22 in all).
2. **Candidates** (:mod:`ml.candidates`): FAISS nearest songs of the query vector ∪ the item
   graph's neighbours of the profile songs, minus every excluded song; features over all of them.
3. **Scoring** (:mod:`ml.ranker`): the model's scorer (the LightGBM ranker when ``train`` could
   fit one, else the fitted blend).
4. **Diversity and rules**: MMR over the best ``limit * pool_per_result`` candidates (relevance =
   the score rescaled to [0, 1] within the pool, redundancy = SVD cosine to the songs already
   picked), at most ``max_per_artist`` songs per artist. Banned songs (the current song, songs on
   another shelf) never appear; avoided songs (seeds, likes) and a third song by one artist only
   when the catalog cannot fill the list otherwise.

``distance`` (what clients see) is the **cosine distance in the SVD space** between the query
vector and the song, ``1 - cos`` in [0, 2]. The order comes from the re-ranker, so distances along
a list need not increase. Everything is deterministic: ties break on the lower catalog row.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace

import numpy as np

from .candidates import FEATURES, CandidateSet, Query, candidate_set
from .graph import ItemGraph
from .ranker import Scorer
from .recommend import distance_from_score, query_vector

__all__ = [
    "CURRENT_SONG_WEIGHT",
    "Mix",
    "Ranked",
    "RankingModel",
    "candidates_for",
    "diversify",
    "popular",
    "profile_query",
    "rank_candidates",
    "recommend",
    "recommend_lists",
    "up_next_query",
]

#: "Up next" target = normalise(CURRENT_SONG_WEIGHT * current + (1 - CURRENT_SONG_WEIGHT) * profile).
CURRENT_SONG_WEIGHT = 0.78
#: Candidates MMR picks from per requested result (at least MIN_POOL).
POOL_PER_RESULT = 4
MIN_POOL = 50
#: The product's diversity settings (``settings.MMR_LAMBDA`` / ``MAX_SONGS_PER_ARTIST`` defaults).
DEFAULT_MMR_LAMBDA = 0.8
DEFAULT_MAX_PER_ARTIST = 2


@dataclass(frozen=True)
class RankingModel:
    """Everything the served ranking reads: vectors + index, graph, scorer, song metadata."""

    vectors: np.ndarray  # float32 [n, d], unit rows: what the index holds
    index: object  # faiss index over ``vectors`` (inner product); anything with ``search``
    graph: ItemGraph
    scorer: Scorer
    popularity: np.ndarray  # int64 [n]
    artist_codes: np.ndarray  # int32 [n]: equal codes = same artist
    #: Called around each stage ("faiss", "candidates", "rerank", "mmr") of a request; the server
    #: passes its metrics hook, so ml/ stays free of it. Default: no timing.
    stage_timer: Callable[[str], AbstractContextManager] = field(default=lambda stage: nullcontext(), repr=False)

    @property
    def size(self) -> int:
        return int(self.vectors.shape[0])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The index's search, timed as the "faiss" stage."""
        with self.stage_timer("faiss"):
            return self.index.search(queries, k)

    def with_scorer(self, scorer: Scorer) -> RankingModel:
        return replace(self, scorer=scorer)


@dataclass(frozen=True)
class Ranked:
    row: int
    distance: float  # cosine distance in SVD space between the query vector and the song


def profile_query(model: RankingModel, rows: Sequence[int], weights: Sequence[float] | None = None) -> Query:
    """A listener's songs (seeds weight 1, likes ``LIKED_WEIGHT``) as a query."""
    rows = np.asarray(rows, dtype=np.int64)
    weights = np.ones(rows.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    return Query(query_vector(model.vectors, rows, weights), rows, weights)


def up_next_query(
    model: RankingModel, current: int, profile_rows: Sequence[int] = (), profile_weights: Sequence[float] | None = None
) -> Query:
    """ "Up next" after ``current``, nudged toward the profile when there is one."""
    target = model.vectors[current]
    if not len(profile_rows):
        return Query(target.astype(np.float32), np.asarray([current], dtype=np.int64), np.ones(1))
    profile = profile_query(model, profile_rows, profile_weights)
    mixed = CURRENT_SONG_WEIGHT * target + (1.0 - CURRENT_SONG_WEIGHT) * profile.vector
    mixed = (mixed / max(float(np.linalg.norm(mixed)), 1e-12)).astype(np.float32)
    share = (1.0 - CURRENT_SONG_WEIGHT) * profile.weights / profile.weights.sum()
    return Query(mixed, np.concatenate([[current], profile.rows]), np.concatenate([[CURRENT_SONG_WEIGHT], share]))


def candidates_for(
    model: RankingModel, query: Query, excluded: np.ndarray, columns: Collection[str] = FEATURES
) -> CandidateSet:
    """Stage one for ``query``: both generators' candidates minus ``excluded``, with features
    (every column unless ``columns`` names the ones read; see :func:`ml.candidates.candidate_set`)."""
    return candidate_set(
        query,
        vectors=model.vectors,
        search=model.search,
        graph=model.graph,
        popularity=model.popularity,
        artist_codes=model.artist_codes,
        excluded=excluded,
        columns=columns,
    )


def rank_candidates(
    model: RankingModel, query: Query, excluded: Collection[int] = (), *, scorer: Scorer | None = None
) -> tuple[CandidateSet, np.ndarray]:
    """All candidates best first and their scores (the raw list, before diversity rules). The
    candidates carry the columns the scorer reads; the other optional ones are 0."""
    scorer = scorer or model.scorer
    excluded_rows = np.fromiter((int(r) for r in excluded), dtype=np.int64)
    with model.stage_timer("candidates"):
        candidates = candidates_for(model, query, excluded_rows, scorer.features)
    with model.stage_timer("rerank"):
        scores = scorer.score(candidates.features)
    order = np.lexsort((candidates.rows, -scores))
    return CandidateSet(candidates.rows[order], candidates.features[order]), scores[order]


def _mmr(
    model: RankingModel,
    rows: np.ndarray,
    relevance: np.ndarray,
    *,
    limit: int,
    mmr_lambda: float,
    max_per_artist: int | None,
) -> list[int]:
    """Indices into ``rows`` (best first) picked greedily by maximal marginal relevance, under the
    artist cap."""
    if len(rows) == 0 or limit <= 0:
        return []
    vectors = np.take(model.vectors, rows, axis=0)
    artists = model.artist_codes[rows]
    relevant = mmr_lambda * relevance
    gain = relevant
    closed = np.zeros(len(rows))  # -inf once picked or over the artist cap
    closest_picked = None
    per_artist: dict[int, int] = {}
    picked: list[int] = []
    while len(picked) < limit:
        best = int(np.argmax(gain + closed))
        if closed[best]:
            break
        picked.append(best)
        closed[best] = -np.inf
        # One row of similarities per pick (limit x pool products, not pool x pool).
        similarity = vectors @ vectors[best]
        closest_picked = similarity if closest_picked is None else np.maximum(closest_picked, similarity)
        gain = relevant - (1.0 - mmr_lambda) * closest_picked
        artist = int(artists[best])
        per_artist[artist] = per_artist.get(artist, 0) + 1
        if max_per_artist is not None and per_artist[artist] >= max_per_artist:
            closed[artists == artist] = -np.inf
    return picked


@dataclass(frozen=True)
class Mix:
    """The diversity settings of one list: MMR's lambda and its pool (``limit * pool_per_result``)."""

    mmr_lambda: float = DEFAULT_MMR_LAMBDA
    pool_per_result: int = POOL_PER_RESULT


def recommend(
    model: RankingModel,
    query: Query,
    *,
    limit: int,
    banned: Collection[int] = (),
    avoided: Collection[int] = (),
    mmr_lambda: float = DEFAULT_MMR_LAMBDA,
    max_per_artist: int | None = DEFAULT_MAX_PER_ARTIST,
    pool_per_result: int = POOL_PER_RESULT,
    scorer: Scorer | None = None,
) -> list[Ranked]:
    """Up to ``limit`` songs for ``query``; fewer only when the catalog cannot supply them."""
    (ranked,) = recommend_lists(
        model,
        query,
        [Mix(mmr_lambda, pool_per_result)],
        limit=limit,
        banned=banned,
        avoided=avoided,
        max_per_artist=max_per_artist,
        scorer=scorer,
    )
    return ranked


def recommend_lists(
    model: RankingModel,
    query: Query,
    mixes: Sequence[Mix],
    *,
    limit: int,
    banned: Collection[int] = (),
    avoided: Collection[int] = (),
    max_per_artist: int | None = DEFAULT_MAX_PER_ARTIST,
    scorer: Scorer | None = None,
) -> list[list[Ranked]]:
    """One list per mix for the same ``query``, no song in two lists: each list also bans the
    songs of the lists before it. The candidates are generated and scored once for all lists
    (the "For you" shelves ask two mixes of one taste), so a later list ranks the earlier one's
    candidates minus its songs."""
    banned_set = {int(r) for r in banned}
    avoided_set = {int(r) for r in avoided} - banned_set
    if min(limit, model.size - len(banned_set)) <= 0:
        return [[] for _ in mixes]
    ranked, scores = rank_candidates(model, query, banned_set | avoided_set, scorer=scorer)
    rows = ranked.rows
    lists: list[list[Ranked]] = []
    for position, mix in enumerate(mixes, start=1):
        with model.stage_timer("mmr"):
            chosen = diversify(
                model,
                query,
                rows,
                scores,
                limit=limit,
                banned=banned_set,
                avoided=avoided_set,
                mmr_lambda=mix.mmr_lambda,
                max_per_artist=max_per_artist,
                pool_per_result=mix.pool_per_result,
            )
        lists.append(chosen)
        if chosen and position < len(mixes):  # the last list bans nothing for a list after it
            picked = [r.row for r in chosen]
            banned_set.update(picked)
            avoided_set -= banned_set
            keep = ~np.isin(rows, picked)
            rows, scores = rows[keep], scores[keep]
    return lists


def diversify(
    model: RankingModel,
    query: Query,
    rows: np.ndarray,
    scores: np.ndarray,
    *,
    limit: int,
    banned: set[int],
    avoided: set[int],
    mmr_lambda: float = DEFAULT_MMR_LAMBDA,
    max_per_artist: int | None = DEFAULT_MAX_PER_ARTIST,
    pool_per_result: int = POOL_PER_RESULT,
) -> list[Ranked]:
    """The list a user sees from scored candidates (``rows`` best first, none banned or avoided):
    MMR over the top of the pool under the artist cap, topped up when the catalog is small.
    ``max_per_artist=None`` lifts the cap (the evaluation measures what the cap costs)."""
    limit = min(limit, model.size - len(banned))
    if limit <= 0:
        return []
    pool = max(limit * pool_per_result, MIN_POOL)
    chosen_rows = _mmr_rows(model, rows[:pool], scores[:pool], limit, mmr_lambda, max_per_artist)
    if len(chosen_rows) < limit and rows.shape[0] > pool:
        # The artist cap emptied the pool: MMR over every candidate before leaving them.
        chosen_rows = _mmr_rows(model, rows, scores, limit, mmr_lambda, max_per_artist)
    if len(chosen_rows) < limit:
        chosen_rows += _fill(model, query, limit - len(chosen_rows), banned=banned | set(chosen_rows), avoided=avoided)
    distances = distance_from_score(model.vectors[chosen_rows] @ query.vector) if chosen_rows else []
    return [Ranked(row, float(d)) for row, d in zip(chosen_rows, distances, strict=True)]


def _mmr_rows(
    model: RankingModel, rows: np.ndarray, scores: np.ndarray, limit: int, mmr_lambda: float, max_per_artist: int | None
) -> list[int]:
    """MMR with relevance = ``scores`` rescaled to [0, 1] over ``rows``; returns catalog rows."""
    if rows.shape[0]:
        low, high = float(scores.min()), float(scores.max())
        relevance = (scores - low) / (high - low) if high > low else np.ones_like(scores)
    else:
        relevance = scores
    picked = _mmr(model, rows, relevance, limit=limit, mmr_lambda=mmr_lambda, max_per_artist=max_per_artist)
    return [int(rows[i]) for i in picked]


def _fill(model: RankingModel, query: Query, missing: int, *, banned: set[int], avoided: set[int]) -> list[int]:
    """Top up a short list from the whole catalog by SVD score: first songs over the artist cap,
    then avoided (seed/liked) songs. Scored exactly, not through the index: an approximate index
    (IVF) asked for the whole catalog returns only the songs in the lists it probes."""
    scores = model.vectors @ query.vector
    found = np.lexsort((np.arange(model.size), -scores))
    order = [int(r) for r in found if int(r) not in banned]
    over_cap = [r for r in order if r not in avoided]
    return (over_cap + [r for r in order if r in avoided])[:missing]


def popular(
    model: RankingModel,
    *,
    limit: int,
    centroid: np.ndarray,
    popular_rows: np.ndarray,
    banned: Collection[int] = (),
    max_per_artist: int,
) -> list[Ranked]:
    """The most popular songs under the artist cap (the no-profile "For you" shelf); distance to
    the catalog's popularity-weighted centroid, the taste of an average listener."""
    banned_set = set(banned)
    per_artist: dict[int, int] = {}
    chosen: list[Ranked] = []
    for row in popular_rows.tolist():
        if row in banned_set:
            continue
        artist = int(model.artist_codes[row])
        if per_artist.get(artist, 0) >= max_per_artist:
            continue
        per_artist[artist] = per_artist.get(artist, 0) + 1
        chosen.append(Ranked(row, float(distance_from_score(model.vectors[row] @ centroid))))
        if len(chosen) >= limit:
            break
    return chosen
