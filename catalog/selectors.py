"""Reads of the catalog: search and resolving client-sent song names.

Serving answers search from the loaded model's in-memory index (``catalog.search_index``) while
the catalog is that model's; the database path below answers otherwise (no model loaded, or a
catalog published from another model) and is the reference the in-memory index is tested against.

The database path is three SQL tiers over normalised keys (exact > prefix > substring, then popularity),
each served by an index: B-tree indexes for exact and prefix, and for substrings a trigram
index (pg_trgm GIN on PostgreSQL, an FTS5 trigram table on SQLite; see migration 0002). A tier
with many matches is read down a popularity index instead (see ``_tier``), so a common word costs
about what a rare one does (on the 178k-song playlist catalog, SQLite: "the" 75 -> 2 ms).
Substring matching needs at least MIN_SUBSTRING_CHARS characters, the shortest a trigram
index can serve; shorter queries match exact and prefix only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from ml.text import normalise, normalise_song_key

from .models import Song
from .search_index import MIN_SUBSTRING_CHARS

#: How long a process trusts that the catalog is the loaded model's (see ``_serving_model_of_catalog``).
CATALOG_CHECK_S = 1.0


def _starts_with(field: str, text: str) -> Q:
    if connection.vendor == "sqlite":
        # A range over the BINARY-collated index; SQLite will not use an index for LIKE ... ESCAPE.
        return Q(**{f"{field}__gte": text, f"{field}__lt": text + "\U0010ffff"})
    # PostgreSQL: Django's *_like index (varchar_pattern_ops) serves LIKE 'text%'.
    return Q(**{f"{field}__startswith": text})


def _contains(text: str) -> Q:
    if connection.vendor == "sqlite":
        # Normalised text has no LIKE wildcards (% and _ are punctuation, squashed to spaces).
        return Q(pk__in=RawSQL("SELECT rowid FROM catalog_song_fts WHERE search_key LIKE %s", (f"%{text}%",)))
    return Q(search_key__contains=text)


#: A tier with more matches than this is "dense": rather than sort every match by popularity,
#: walk the partial (-popularity, song_id) index of available songs and stop at the limit.
DENSE_TIER_ROWS = 2000


def _tier(sparse: Q, dense: Q, *, taken: list[int], limit: int) -> list[Song]:
    """The ``limit`` most popular available songs matching one tier, skipping ``taken`` ones.

    Sorting all matches costs in proportion to their number ("the" matches a fifth of a large
    catalog). So: collect up to DENSE_TIER_ROWS matching ids through the tier's own index
    (``sparse``); if that is all of them, sort those; otherwise the matches are common, and a walk
    down the popularity index filtered row by row (``dense``) reaches ``limit`` of them quickly.
    """
    available = Song.objects.filter(is_available=True).exclude(pk__in=taken)
    ids = list(available.filter(sparse).values_list("pk", flat=True)[: DENSE_TIER_ROWS + 1])
    matches = available.filter(pk__in=ids) if len(ids) <= DENSE_TIER_ROWS else available.filter(dense)
    return list(matches.order_by("-popularity", "song_id")[:limit])


@dataclass(frozen=True, slots=True)
class FoundSong:
    """A search result: what the search response shows of a catalog song."""

    song_id: str
    artist: str
    title: str
    album: str = ""
    cover_url: str = ""
    preview_url: str = ""


def song_search(*, query: str, limit: int) -> list[FoundSong]:
    """Available songs matching ``query``: exact, then prefix, then substring; each by popularity.

    Answered from the loaded model's in-memory index (``catalog.search_index``, no query) when the
    catalog is that model's, else by the database tiers; both rank the same songs the same way.
    From memory a song has no album or preview URL (the model does not know them, and nothing
    fills those columns today) and its cover comes from the cover cache, as in recommendations.
    """
    model = _serving_model_of_catalog()
    if model is None:
        return [
            FoundSong(song.song_id, song.artist, song.title, song.album, song.cover_url, song.preview_url)
            for song in song_search_in_database(query=query, limit=limit)
        ]
    return [
        FoundSong(model.song_ids[row], model.artists[row], model.titles[row])
        for row in model.song_search_index.search(query, limit=limit)
    ]


_catalog_check: tuple[str, float, bool] = ("", 0.0, False)  # (model version, checked at, answer)


def _serving_model_of_catalog():
    """The loaded model, if the available catalog is the one its ``build_index`` published.

    ``catalog_publish`` stamps every available song with the model version, so the most popular
    available song tells which model the catalog is. Checked at most once per CATALOG_CHECK_S per
    process (one indexed row): the catalog changes only by publishing, right before the model
    pointer switches to the same version.
    """
    global _catalog_check
    from recommendations.model_store import model_store  # deferred: recommendations imports catalog

    model = model_store.peek()
    if model is None:
        return None
    version, checked_at, answer = _catalog_check
    now = time.monotonic()
    if version != model.version or now - checked_at >= CATALOG_CHECK_S:
        top = available_songs().order_by("-popularity").values_list("model_version", flat=True).first()
        answer = top == model.version
        _catalog_check = (model.version, now, answer)
    return model if answer else None


def catalog_check_reset() -> None:
    """Forget the catalog/model check (tests that republish the catalog within a second)."""
    global _catalog_check
    _catalog_check = ("", 0.0, False)


def song_search_in_database(*, query: str, limit: int) -> list[Song]:
    """The database form of ``song_search``: exact, prefix and substring tiers, each by popularity."""
    text = normalise(query)
    if not text:
        return []
    exact = Q(title_key=text) | Q(search_key=text)
    prefix = _starts_with("title_key", text) | _starts_with("search_key", text)
    # SQLite: the dense prefix form is LIKE, which SQLite serves with no B-tree index, so its
    # planner walks the popularity index instead of collecting every match. On PostgreSQL both
    # forms are the same LIKE 'x%'; its planner weighs the two indexes with its statistics.
    prefix_scan = Q(title_key__startswith=text) | Q(search_key__startswith=text)
    tiers = [(exact, exact), (prefix, prefix_scan)]
    if len(text) >= MIN_SUBSTRING_CHARS:
        tiers.append((_contains(text), Q(search_key__contains=text)))
    found: list[Song] = []
    for sparse, dense in tiers:
        if len(found) >= limit:
            break
        found += _tier(sparse, dense, taken=[song.pk for song in found], limit=limit - len(found))
    return found


def available_songs() -> QuerySet[Song]:
    return Song.objects.filter(is_available=True)


def song_resolve(*, song_id: str) -> Song | None:
    """The available song a client means: exact ``song_id`` first, then the normalised key."""
    song = available_songs().filter(song_id=song_id).first()
    if song is None:
        key = normalise_song_key(song_id)
        if key:
            song = available_songs().filter(match_key=key).order_by("-popularity", "song_id").first()
    return song
