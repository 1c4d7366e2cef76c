"""Cover art: look-ups from public metadata services, cached in the shared Django cache.

(Provider chain, budget, circuit breaker and background fill arrive with the cover-art issue;
until then only what is already cached is served.)
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache

COVER_CACHE_PREFIX = "cover:v1:"


def cover_cache_key(artist: str, track: str) -> str:
    from ml.text import song_key

    return COVER_CACHE_PREFIX + song_key(artist, track)


def cached_cover_urls(songs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """Cover URLs already in the cache for (artist, track) pairs, in one round trip; never waits on the network."""
    keys = {pair: cover_cache_key(*pair) for pair in songs}
    found = cache.get_many(list(keys.values()))
    return {pair: found.get(key) or None for pair, key in keys.items()}


def cover_lookup(*, artist: str, track: str) -> str | None:
    return cached_cover_urls([(artist, track)])[(artist, track)]
