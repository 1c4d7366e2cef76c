"""The cover cache and the cover settings.

One cache entry per song key: the cover URL, or ``MISS`` ("" — looked up, nothing found). A key
that is absent means "never looked up (or expired)". Entries live in the Django cache named by
``COVER_CACHE_ALIAS`` (the default cache: Redis when ``REDIS_URL`` is set, so every worker and
instance shares them). Settings are read at call time so tests can override them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from functools import lru_cache

from django.conf import settings
from django.core.cache import BaseCache, caches

# Covers are decoration: a cache outage (CACHE_ERRORS) must cost responses their covers, never
# the response itself.
from core.availability import CACHE_ERRORS, warn_degraded

logger = logging.getLogger(__name__)

COVER_CACHE_PREFIX = "cover:v2:"
MISS = ""

# Defaults for settings a settings module may leave out (settings.py defines them all, from the
# environment); read with getattr at call time so tests can override them.
DEFAULTS = {
    "COVERS_ENABLED": True,
    "COVER_ITUNES_URL": "https://itunes.apple.com",
    "COVER_DEEZER_URL": "https://api.deezer.com",
    "COVER_MUSICBRAINZ_URL": "https://musicbrainz.org",
    "COVER_ART_ARCHIVE_URL": "https://coverartarchive.org",
    "COVER_TIMEOUT_S": 2.0,
    "COVER_BUDGET_S": 4.0,
    "COVER_CACHE_ALIAS": "default",
    "COVER_HIT_TTL_S": 30 * 24 * 3600,
    "COVER_MISS_TTL_S": 24 * 3600,
    "COVER_RETRY_TTL_S": 10 * 60,
    "COVER_BREAKER_FAILURES": 5,
    "COVER_BREAKER_COOLDOWN_S": 60.0,
    "COVER_MUSICBRAINZ_INTERVAL_S": 1.0,
    "COVER_WORKERS": 2,
    "COVER_QUEUE_MAX": 1000,
    "COVER_USER_AGENT": "spotify-redux/1.0 ( cover-art look-ups; no contact configured )",
}


def cover_setting(name: str):
    return getattr(settings, name, DEFAULTS[name])


#: True while the served model was trained on synthetic data (``make run``'s demo): its songs are
#: invented, so no public service can have their covers and none is asked. The model store sets
#: it whenever it loads a model (from the manifest's ``synthetic_data``); real data may look up.
_synthetic_catalog = False


def set_synthetic_catalog(synthetic: bool) -> None:
    global _synthetic_catalog
    if synthetic and not _synthetic_catalog:
        logger.info("The served model was trained on synthetic data: no cover look-ups for its made-up songs.")
    _synthetic_catalog = synthetic


def covers_enabled() -> bool:
    return bool(cover_setting("COVERS_ENABLED")) and not _synthetic_catalog


def cover_cache() -> BaseCache:
    return caches[cover_setting("COVER_CACHE_ALIAS")]


@lru_cache(maxsize=65_536)
def cover_cache_key(artist: str, track: str) -> str:
    """Cache key of a song's cover: variants of one song ("… - Remastered", "feat. …") share it.

    A digest of ``ml.text.song_key``, so keys are short ASCII whatever the names (safe for any
    cache backend). Memoised: the normalisation is regex work, and every response asks for ~10 keys.
    """
    from ml.text import song_key

    digest = hashlib.blake2b(song_key(artist, track).encode(), digest_size=16).hexdigest()
    return COVER_CACHE_PREFIX + digest


def cache_read_many(keys: Collection[str]) -> dict[str, str] | None:
    """Cached values for ``keys`` in one round trip; None when the cache cannot be reached."""
    if not keys:
        return {}
    try:
        return cover_cache().get_many(keys)
    except CACHE_ERRORS as exc:
        warn_degraded("cover-cache", "cover cache unreachable, serving without covers: %s", exc, log=logger)
        return None


def cache_store(key: str, url: str | None, *, complete: bool) -> None:
    """Remember a look-up's outcome: a hit for long, a definite miss for less, an incomplete one briefly.

    "Incomplete" means a provider failed, timed out or was skipped, so "no cover" is not an answer
    yet; caching it briefly still keeps an outage from triggering a look-up per response.
    """
    if url:
        value, ttl = url, cover_setting("COVER_HIT_TTL_S")
    elif complete:
        value, ttl = MISS, cover_setting("COVER_MISS_TTL_S")
    else:
        value, ttl = MISS, cover_setting("COVER_RETRY_TTL_S")
    try:
        cover_cache().set(key, value, timeout=ttl)
    except CACHE_ERRORS as exc:
        logger.warning("cover cache unreachable, result for %r not stored: %s", key, exc)
