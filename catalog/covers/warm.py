"""Warm-up: fill the cover cache and ``Song.cover_url`` for the most popular songs ahead of traffic.

Resumable: with ``only_missing`` a song is skipped when it already has ``cover_url`` or the cache
already holds an answer for it (a cached cover is copied to the row without a look-up), so an
interrupted run picks up where it stopped. Rows are written in small batches for the same reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from catalog.models import Song

from . import cover_refresh
from .store import MISS, cache_read_many, cover_cache_key

WRITE_BATCH_ROWS = 50
CACHE_READ_BATCH = 500


@dataclass
class WarmReport:
    songs: int = 0
    looked_up: int = 0
    found: int = 0
    no_cover: int = 0
    incomplete: int = 0
    from_cache: int = 0
    skipped: int = 0
    by_provider: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class WarmPlan:
    """What a run would do: songs to look up, and cached covers to copy onto rows."""

    songs: int
    to_look_up: list[tuple[int, str, str, str]]  # (pk, artist, title, current cover_url)
    to_copy: list[tuple[int, str]]  # (pk, cached cover url)
    skipped: int


def covers_warm_plan(*, limit: int, only_missing: bool) -> WarmPlan:
    rows = list(
        Song.objects.filter(is_available=True)
        .order_by("-popularity", "song_id")
        .values_list("pk", "artist", "title", "cover_url")[:limit]
    )
    if not only_missing:
        return WarmPlan(songs=len(rows), to_look_up=rows, to_copy=[], skipped=0)
    to_look_up, to_copy, skipped = [], [], 0
    without_cover = [row for row in rows if not row[3]]
    skipped += len(rows) - len(without_cover)
    for start in range(0, len(without_cover), CACHE_READ_BATCH):
        batch = without_cover[start : start + CACHE_READ_BATCH]
        keys = {row[0]: cover_cache_key(row[1], row[2]) for row in batch}
        cached = cache_read_many(list(keys.values())) or {}
        for row in batch:
            value = cached.get(keys[row[0]])
            if value is None:
                to_look_up.append(row)
            elif value == MISS:
                skipped += 1
            else:
                to_copy.append((row[0], value))
    return WarmPlan(songs=len(rows), to_look_up=to_look_up, to_copy=to_copy, skipped=skipped)


def covers_warm(
    *,
    plan: WarmPlan,
    rate_per_s: float,
    progress: Callable[[Iterable], Iterator] = iter,
) -> WarmReport:
    """Carry out ``plan``: copy cached covers onto rows, then look the rest up at most ``rate_per_s`` a second."""
    report = WarmReport(songs=plan.songs, skipped=plan.skipped, from_cache=len(plan.to_copy))
    _write_covers(plan.to_copy)
    pending: list[tuple[int, str]] = []
    interval_s = 1.0 / rate_per_s
    next_start = time.monotonic()
    try:
        for pk, artist, title, current in progress(plan.to_look_up):
            delay = next_start - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_start = max(next_start, time.monotonic()) + interval_s
            result = cover_refresh(artist=artist, track=title)
            report.looked_up += 1
            if result.url:
                report.found += 1
                report.by_provider[result.provider or "?"] = report.by_provider.get(result.provider or "?", 0) + 1
                if result.url != current:
                    pending.append((pk, result.url))
            elif result.complete:
                report.no_cover += 1
            else:
                report.incomplete += 1
            if len(pending) >= WRITE_BATCH_ROWS:
                _write_covers(pending)
                pending = []
    finally:
        _write_covers(pending)
    return report


def _write_covers(updates: list[tuple[int, str]]) -> None:
    if updates:
        Song.objects.bulk_update([Song(pk=pk, cover_url=url) for pk, url in updates], ["cover_url"])
