"""Cover art: a provider chain behind a shared cache, a time budget and circuit breakers.

Two ways in:
- ``cached_cover_urls`` serves responses (search, recommendations): one cache round trip, never
  the network; songs the cache has never seen are queued for the background worker, so the
  next response has their covers. Response latency does not depend on provider latency.
- ``cover_lookup`` serves ``GET /cover``: the cache, else the provider chain (iTunes Search →
  Deezer → MusicBrainz + Cover Art Archive) within ``COVER_BUDGET_S``; the result, including
  "no cover", is cached (misses for less time).

``manage.py warm_covers`` fills the cache (and ``Song.cover_url``) ahead of traffic.
With ``COVERS_ENABLED`` off there are no look-ups at all: only what is cached is served.

Modules: ``store`` (cache, settings), ``transport`` (deadline-bounded HTTP), ``providers``,
``guards`` (breakers, rate limits), ``chain``, ``worker`` (background fill), ``warm``.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.metrics import cover_cache_lookups

from .chain import CoverResult, chain_state_keys, cover_fetch
from .store import cache_read_many, cache_store, cover_cache_key, covers_enabled
from .worker import cover_worker

__all__ = [
    "CoverResult",
    "cached_cover_urls",
    "cover_cache_key",
    "cover_fetch",
    "cover_lookup",
    "cover_refresh",
    "cover_worker_drain",
    "cover_worker_shutdown",
]


def cached_cover_urls(songs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """Cover URLs the cache knows for (artist, track) pairs (None: unknown or known to have none).

    One cache round trip; never waits on the network. With covers enabled, pairs the cache has
    never seen are queued for the background worker (bounded, de-duplicated, dropped when full).
    """
    keys = {pair: cover_cache_key(*pair) for pair in songs}
    found = cache_read_many(list(keys.values()))
    if found is None:
        return dict.fromkeys(keys)
    result: dict[tuple[str, str], str | None] = {}
    unknown: list[tuple[str, str]] = []
    for pair, key in keys.items():
        value = found.get(key)
        if value is None:
            unknown.append(pair)
        result[pair] = value or None
    if keys:
        cover_cache_lookups.labels("hit").inc(len(keys) - len(unknown))
    if unknown:
        cover_cache_lookups.labels("miss").inc(len(unknown))
    if unknown and covers_enabled():
        cover_worker.submit(unknown)
    return result


def cover_lookup(*, artist: str, track: str) -> str | None:
    """The cover URL for one song: cached, else looked up within ``COVER_BUDGET_S`` and cached."""
    key = cover_cache_key(artist, track)
    enabled = covers_enabled()
    # The breaker state comes along in the same round trip, for the look-up that may follow.
    found = cache_read_many([key, *chain_state_keys()] if enabled else [key])
    cached = found.get(key) if found else None
    cover_cache_lookups.labels("miss" if cached is None else "hit").inc()
    if cached is not None:
        return cached or None
    if not enabled:
        return None
    result = cover_fetch(artist=artist, track=track, prefetched=found)
    cache_store(key, result.url, complete=result.complete)
    return result.url


def cover_refresh(*, artist: str, track: str) -> CoverResult:
    """Look a song's cover up now, whatever the cache holds, and cache the outcome (warm-up)."""
    result = cover_fetch(artist=artist, track=track)
    cache_store(cover_cache_key(artist, track), result.url, complete=result.complete)
    return result


def cover_worker_drain(timeout: float = 10.0) -> bool:
    """Wait for the background look-ups queued so far; False on timeout (tests, benchmarks)."""
    return cover_worker.drain(timeout)


def cover_worker_shutdown(timeout: float = 10.0) -> None:
    """Stop the background threads and drop the queue; the next miss starts them again."""
    cover_worker.shutdown(timeout)
