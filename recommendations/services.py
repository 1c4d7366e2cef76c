"""Cold-start, "Up next" and shelves: the recommendation rules of the contract.

Each function resolves songs against the loaded model (no database round trip), builds the query
with ``ml.served`` and ranks with ``ml.served.recommend``: candidates from FAISS and the item graph,
the re-ranker, MMR, the artist cap and the exclusions. ``manage.py evaluate`` measures the same
functions, so the evaluated lists are the served ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from accounts.models import User
from accounts.services import user_seeds_store_once
from core.exceptions import NotFoundError
from likes.selectors import user_liked_song_ids
from ml.candidates import Query
from ml.served import Mix, Ranked, popular, profile_query, recommend_lists, up_next_query

from .model_store import ServingModel, model_store

#: "Fresh mix" favours variety: a lower MMR lambda over a deeper candidate pool.
FRESH_MIX_LAMBDA = 0.5
FRESH_MIX_POOL_PER_RESULT = 12


@dataclass(frozen=True)
class Rec:
    song_id: str
    title: str
    artist: str
    distance: float


@dataclass
class Profile:
    """The songs that describe a listener: seeds (weight 1) and likes (weight LIKED_WEIGHT)."""

    seed_rows: list[int] = field(default_factory=list)
    liked_rows: list[int] = field(default_factory=list)  # newest first

    @property
    def rows(self) -> list[int]:
        return self.seed_rows + self.liked_rows

    def weights(self) -> list[float]:
        return [1.0] * len(self.seed_rows) + [float(settings.LIKED_WEIGHT)] * len(self.liked_rows)

    def query(self, model: ServingModel) -> Query | None:
        if not self.rows:
            return None
        return profile_query(model.ranking, self.rows, self.weights())


def _resolve(model: ServingModel, song_ids: Sequence[str]) -> tuple[list[int], list[str]]:
    """Known rows (first occurrence order, no duplicates) and the ids that are not in the model."""
    rows: list[int] = []
    unknown: list[str] = []
    for song_id in song_ids:
        row = model.resolve(song_id)
        if row is None:
            unknown.append(song_id)
        elif row not in rows:
            rows.append(row)
    return rows, unknown


def _liked_rows(model: ServingModel, user: User | None) -> list[int]:
    if user is None:
        return []
    return _resolve(model, user_liked_song_ids(user=user))[0]


def _stored_seed_rows(model: ServingModel, user: User | None) -> list[int]:
    if user is None or not user.onboarding_seeds:
        return []
    return _resolve(model, user.onboarding_seeds)[0]


def _profile_seed_rows(model: ServingModel, user: User | None, seed: str | None) -> tuple[list[int], int | None]:
    """The listener's stored seed rows with the request's optional ``seed`` first (and its row);
    an unknown ``seed`` is a 404."""
    seed_rows = _stored_seed_rows(model, user)
    if not seed:
        return seed_rows, None
    seed_row = model.resolve(seed)
    if seed_row is None:
        raise NotFoundError(f"Unknown seed: {seed!r} is not in the catalog.", code="unknown_seed")
    return [seed_row] + [row for row in seed_rows if row != seed_row], seed_row


def _to_recs(model: ServingModel, ranked: list[Ranked]) -> list[Rec]:
    return [Rec(model.song_ids[r.row], model.titles[r.row], model.artists[r.row], round(r.distance, 6)) for r in ranked]


def _rank(model: ServingModel, query: Query, *, limit: int, banned=(), avoided=()) -> list[Ranked]:
    (ranked,) = _rank_lists(model, query, [Mix(settings.MMR_LAMBDA)], limit=limit, banned=banned, avoided=avoided)
    return ranked


def _rank_lists(model: ServingModel, query: Query, mixes: list[Mix], *, limit: int, banned=(), avoided=()):
    return recommend_lists(
        model.ranking,
        query,
        mixes,
        limit=limit,
        banned=banned,
        avoided=avoided,
        max_per_artist=settings.MAX_SONGS_PER_ARTIST,
    )


def _unknown_seeds_error(unknown: list[str]) -> NotFoundError:
    return NotFoundError("None of the seed songs are in the catalog.", code="unknown_seeds", extra={"unknown": unknown})


def cold_start_recommend(*, user: User | None, seeds: list[str], limit: int) -> tuple[list[Rec], int]:
    """ "You might like" from 1-10 seed songs; returns (recommendations, number of seeds used).

    A signed-in user's stored seeds win over the payload; their first call stores the payload's
    known seeds (once). Their likes join the seeds with weight LIKED_WEIGHT.
    """
    model = model_store.get()
    seed_rows = _stored_seed_rows(model, user)
    if not seed_rows:
        seed_rows, unknown = _resolve(model, seeds)
        if not seed_rows:
            raise _unknown_seeds_error(unknown)
        if user is not None and user.onboarding_seeds is None:
            in_force = user_seeds_store_once(user=user, song_ids=[model.song_ids[row] for row in seed_rows])
            seed_rows = _resolve(model, in_force)[0] or seed_rows
    profile = Profile(seed_rows=seed_rows, liked_rows=_liked_rows(model, user))
    ranked = _rank(model, profile.query(model), limit=limit, avoided=profile.rows)
    return _to_recs(model, ranked), len(seed_rows)


def similar_recommend(*, user: User | None, song: str, limit: int, seed: str | None = None) -> tuple[list[Rec], int]:
    """ "Up next" after ``song``, nudged toward the listener's profile when there is one."""
    model = model_store.get()
    current = model.resolve(song)
    if current is None:
        raise NotFoundError(f"Unknown song: {song!r} is not in the catalog.", code="unknown_song")
    seed_rows, _ = _profile_seed_rows(model, user, seed)
    profile = Profile(seed_rows=seed_rows, liked_rows=_liked_rows(model, user))
    query = up_next_query(model.ranking, current, profile.rows, profile.weights())
    ranked = _rank(model, query, limit=limit, banned=[current], avoided=profile.rows)
    return _to_recs(model, ranked), len(seed_rows)


@dataclass(frozen=True)
class Shelf:
    label: str
    seed_used: str | None
    items: list[Rec]


def shelves_recommend(*, user: User | None, seed: str | None, limit: int) -> list[Shelf]:
    """ "For you" shelves; no song appears on two shelves.

    With a profile (the ``seed`` parameter, stored seeds, likes): "Because you like <anchor>",
    "More from your vibe" and "Fresh mix". Without one: a single "For you" shelf of popular songs.
    """
    model = model_store.get()
    seed_rows, anchor = _profile_seed_rows(model, user, seed)
    profile = Profile(seed_rows=seed_rows, liked_rows=_liked_rows(model, user))
    if not profile.rows:
        items = popular(
            model.ranking,
            limit=limit,
            centroid=model.centroid,
            popular_rows=model.popular_rows,
            max_per_artist=settings.MAX_SONGS_PER_ARTIST,
        )
        return [Shelf("For you", None, _to_recs(model, items))]

    if anchor is None:
        # The most recent like says most about today's taste; else the first onboarding seed.
        anchor = profile.liked_rows[0] if profile.liked_rows else profile.seed_rows[0]
    # One taste, two mixes: "Fresh mix" favours variety and never repeats "More from your vibe".
    taste_mixes = [Mix(settings.MMR_LAMBDA), Mix(FRESH_MIX_LAMBDA, FRESH_MIX_POOL_PER_RESULT)]
    if profile.seed_rows == [anchor] and not profile.liked_rows:
        # The anchor is the whole profile (a seed and nothing else, the usual anonymous request):
        # both shelves' queries are the same, so its candidates are generated and scored once for
        # all three lists, each banning the songs of the lists before it.
        because, vibe, fresh = _rank_lists(
            model,
            profile.query(model),
            [Mix(settings.MMR_LAMBDA), *taste_mixes],
            limit=limit,
            banned={anchor},
            avoided=profile.rows,
        )
    else:
        banned = {anchor}
        because = _rank(model, profile_query(model.ranking, [anchor]), limit=limit, banned=banned, avoided=profile.rows)
        banned |= {r.row for r in because}
        vibe, fresh = _rank_lists(
            model, profile.query(model), taste_mixes, limit=limit, banned=banned, avoided=profile.rows
        )
    return [
        Shelf(f"Because you like {model.song_ids[anchor]}", model.song_ids[anchor], _to_recs(model, because)),
        Shelf("More from your vibe", None, _to_recs(model, vibe)),
        Shelf("Fresh mix", None, _to_recs(model, fresh)),
    ]
