"""Reads of the catalog: search and resolving client-sent song names.

Search is three SQL tiers over normalised keys (exact > prefix > substring, then popularity),
each served by an index: B-tree indexes for exact and prefix, and for substrings a trigram
index (pg_trgm GIN on PostgreSQL, an FTS5 trigram table on SQLite; see migration 0002). A tier
with many matches is read down a popularity index instead (see ``_tier``), so a common word costs
about what a rare one does (on the 178k-song playlist catalog, SQLite: "the" 75 -> 2 ms).
Substring matching needs at least MIN_SUBSTRING_CHARS characters, the shortest a trigram
index can serve; shorter queries match exact and prefix only.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from ml.text import normalise, normalise_song_key

from .models import Song

MIN_SUBSTRING_CHARS = 3


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


def song_search(*, query: str, limit: int) -> list[Song]:
    """Available songs matching ``query``: exact, then prefix, then substring; each by popularity."""
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
