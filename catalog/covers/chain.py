"""The provider chain: ask each provider in order, within one total budget, behind its breaker."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .guards import breaker_allows, breaker_failure, breaker_keys, breaker_states, breaker_success
from .providers import PROVIDERS
from .store import cover_setting
from .transport import Budget, ProviderError, ProviderSkipped, ProviderTimeout

logger = logging.getLogger(__name__)

#: Not worth starting a provider with less time than this left.
MIN_ATTEMPT_S = 0.05


@dataclass(frozen=True)
class CoverResult:
    url: str | None
    #: Every provider gave an answer (so a None is a real "no cover", cached for longer).
    complete: bool
    provider: str | None = None


def chain_state_keys() -> list[str]:
    """Cache keys of the chain's breaker state: fetch them with ``get_many`` alongside the song's own
    key and pass the result to ``cover_fetch(prefetched=...)`` to save a round trip."""
    return breaker_keys([provider.name for provider in PROVIDERS])


def cover_fetch(
    *, artist: str, track: str, budget_s: float | None = None, prefetched: dict | None = None
) -> CoverResult:
    """Look a cover up: iTunes → Deezer → MusicBrainz + Cover Art Archive, first hit wins.

    Each HTTP request gets at most ``COVER_TIMEOUT_S`` and the whole chain at most ``budget_s``
    (default ``COVER_BUDGET_S``). Providers whose breaker is open are skipped. Never raises for
    provider trouble; does not read or write the cover cache (callers do).
    ``prefetched``: a get_many result that includes ``chain_state_keys()``.
    """
    budget = Budget.start(
        budget_s=float(cover_setting("COVER_BUDGET_S") if budget_s is None else budget_s),
        timeout_s=float(cover_setting("COVER_TIMEOUT_S")),
    )
    states = breaker_states([provider.name for provider in PROVIDERS], prefetched)
    complete = True
    for provider in PROVIDERS:
        if budget.remaining() < MIN_ATTEMPT_S:
            return CoverResult(None, complete=False)
        state = states[provider.name]
        if not breaker_allows(provider.name, state):
            complete = False
            continue
        try:
            url = provider.find(artist, track, budget)
        except ProviderSkipped as exc:
            logger.debug("%s", exc)
            complete = False
            continue
        except ProviderTimeout as exc:
            complete = False
            if not exc.budget_cut:
                breaker_failure(provider.name, str(exc))
            continue
        except ProviderError as exc:
            complete = False
            breaker_failure(provider.name, str(exc))
            continue
        breaker_success(provider.name, state)
        if url:
            return CoverResult(url, complete=True, provider=provider.name)
    return CoverResult(None, complete=complete)
