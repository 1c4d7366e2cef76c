"""Throttles that read their rate from settings at request time (DRF's read it once at import).

Without its cache the throttle **fails open**: the request is let through and a warning is logged
(at most one every few seconds). The throttle guards signup/login against password guessing; a
Redis outage must not take sign-in down with it, and an attacker cannot cause the outage from
outside. Password hashing still costs every attempt its time. See docs/SECURITY.md.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from .availability import CACHE_ERRORS, warn_degraded


class ScopedSettingsRateThrottle(ScopedRateThrottle):
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            warn_degraded(
                "throttle",
                "Throttle cache unavailable (%s): letting %s requests through unthrottled.",
                type(exc).__name__,
                self.scope or "throttled",
            )
            return True
