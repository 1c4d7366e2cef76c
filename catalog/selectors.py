"""Reads of the catalog: search and resolving client-sent song names.

Search is three SQL tiers over normalised keys (exact > prefix > substring, then popularity),
each served by an index: B-tree indexes for exact and prefix, and for substrings a trigram
index (pg_trgm GIN on PostgreSQL, an FTS5 trigram table on SQLite; see migration 0002).
Substring matching needs at least MIN_SUBSTRING_CHARS characters, the shortest a trigram
index can serve; shorter queries match exact and prefix only.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
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


def song_search(*, query: str, limit: int) -> list[Song]:
    """Available songs matching ``query``, best first."""
    text = normalise(query)
    if not text:
        return []
    exact = Q(title_key=text) | Q(search_key=text)
    prefix = _starts_with("title_key", text) | _starts_with("search_key", text)
    matches = exact | prefix
    if len(text) >= MIN_SUBSTRING_CHARS:
        matches |= _contains(text)
    ranked = (
        Song.objects.filter(matches, is_available=True)
        .annotate(
            tier=Case(
                When(exact, then=Value(0)), When(prefix, then=Value(1)), default=Value(2), output_field=IntegerField()
            )
        )
        .order_by("tier", "-popularity", "song_id")
    )
    return list(ranked[:limit])


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
