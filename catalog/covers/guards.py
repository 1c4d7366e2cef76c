"""Circuit breakers and rate limits for the cover providers, kept in the shared cache.

Keeping the state in the cache (Redis in production) means every worker process and instance
learns about an outage together, and MusicBrainz's one-request-per-second policy holds for the
whole deployment rather than per process.

Breaker, per provider:
- closed: requests go through; each failure increments a consecutive-failure counter, a
  success clears it.
- open: after ``COVER_BREAKER_FAILURES`` consecutive failures the provider is skipped for
  ``COVER_BREAKER_COOLDOWN_S`` (an "open" key with that TTL).
- half-open: when the open key expires while the counter is still at the threshold, exactly one
  request (whoever wins a ``cache.add``) probes the provider; success closes the breaker,
  failure opens it again for another cool-down. Everyone else keeps skipping meanwhile.

Rate limit, per provider: taking a request slot means winning ``cache.add`` of a key that lives
for ``interval`` seconds and holds the time it was taken; while it exists nobody else may send.
So any two requests to the provider from processes sharing the cache (every process, with Redis)
are at least ``interval`` apart (fixed windows would only cap the average and let two requests
through a millisecond apart across a window boundary). A waiter knows from the stored time how
long the slot stays taken.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

from core.metrics import cover_provider_failures

from .store import CACHE_ERRORS, cover_cache, cover_setting
from .transport import Budget, ProviderSkipped

logger = logging.getLogger(__name__)

BREAKER_PREFIX = "cover:breaker:v1:"
RATE_PREFIX = "cover:rate:v2:"
#: A failure older than this no longer counts as "consecutive".
FAILURE_MEMORY_S = 600
#: A rate-limit slot is only worth waiting for if this much time remains for the request itself.
MIN_REQUEST_S = 0.25
#: Shortest pause before asking for a rate-limit slot again.
MIN_RETRY_S = 0.01


@dataclass(frozen=True)
class BreakerState:
    open: bool = False
    failures: int = 0


def _keys(name: str) -> tuple[str, str, str]:
    return f"{BREAKER_PREFIX}{name}:open", f"{BREAKER_PREFIX}{name}:failures", f"{BREAKER_PREFIX}{name}:probe"


def breaker_keys(names: list[str]) -> list[str]:
    """The cache keys ``breaker_states`` reads, for callers that fetch them with other keys."""
    return [key for name in names for key in _keys(name)[:2]]


def breaker_states(names: list[str], found: dict | None = None) -> dict[str, BreakerState]:
    """The breakers of ``names``, from ``found`` (a get_many result holding ``breaker_keys``) or one
    cache round trip; all closed if the cache is unreachable."""
    if found is None:
        try:
            found = cover_cache().get_many(breaker_keys(names))
        except CACHE_ERRORS:
            return {name: BreakerState() for name in names}
    states = {}
    for name in names:
        open_key, failures_key, _ = _keys(name)
        states[name] = BreakerState(open=open_key in found, failures=int(found.get(failures_key) or 0))
    return states


def breaker_allows(name: str, state: BreakerState) -> bool:
    if state.open:
        return False
    if state.failures < cover_setting("COVER_BREAKER_FAILURES"):
        return True
    # Half-open: one probe at a time, for at most one request's worth of time.
    _, _, probe_key = _keys(name)
    try:
        return cover_cache().add(probe_key, 1, timeout=cover_setting("COVER_TIMEOUT_S") * 2 + 1)
    except CACHE_ERRORS:
        return True


def breaker_success(name: str, state: BreakerState) -> None:
    if state.failures:
        _, failures_key, probe_key = _keys(name)
        with contextlib.suppress(CACHE_ERRORS):
            cover_cache().delete_many([failures_key, probe_key])
        logger.info("cover provider %s answered again; circuit closed", name)


def breaker_failure(name: str, reason: str) -> None:
    cover_provider_failures.labels(name).inc()
    open_key, failures_key, probe_key = _keys(name)
    cache = cover_cache()
    threshold = cover_setting("COVER_BREAKER_FAILURES")
    try:
        cache.add(failures_key, 0, timeout=FAILURE_MEMORY_S)
        try:
            failures = cache.incr(failures_key)
        except ValueError:  # expired between add and incr
            cache.set(failures_key, 1, timeout=FAILURE_MEMORY_S)
            failures = 1
        if failures >= threshold:
            cooldown_s = cover_setting("COVER_BREAKER_COOLDOWN_S")
            cache.set(open_key, 1, timeout=cooldown_s)
            cache.delete(probe_key)
            logger.warning(
                "cover provider %s failed %d times in a row (last: %s); skipping it for %.0f s",
                name,
                failures,
                reason,
                cooldown_s,
            )
        else:
            logger.info("cover provider %s failed (%d in a row): %s", name, failures, reason)
    except CACHE_ERRORS as exc:
        logger.warning("cover provider %s failed (%s); breaker state not stored: %s", name, reason, exc)


def rate_slot(name: str, interval_s: float, budget: Budget) -> None:
    """Wait until ``interval_s`` has passed since this provider's last request anywhere, or raise
    ProviderSkipped if that moment would leave too little of the budget for the request itself."""
    if interval_s <= 0:
        return
    cache = cover_cache()
    key = f"{RATE_PREFIX}{name}"
    while True:
        now = time.time()
        try:
            if cache.add(key, now, timeout=interval_s):
                return
            taken_at = cache.get(key)
        except CACHE_ERRORS:
            return
        if taken_at is None:  # freed between add and get: try again after the shortest pause
            taken_at = now - interval_s
        # The stored time may come from another machine's clock. The key outlives no slot by more
        # than the interval, so never wait longer than that, and never spin on a key that a clock
        # behind ours makes look already expired.
        wait_s = min(interval_s, max(MIN_RETRY_S, float(taken_at) + interval_s - now))
        if wait_s + MIN_REQUEST_S > budget.remaining():
            raise ProviderSkipped(f"{name}: no request slot within the budget (1 per {interval_s:g} s)")
        time.sleep(wait_s)
