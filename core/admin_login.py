"""The admin login page, throttled like the API's signup and login.

Django's admin login has no attempt limit of its own; it takes a username and password like
``/auth/login`` does, so it shares that throttle's rate (``THROTTLE_AUTH_RATE``) and client
identification (``NUM_PROXIES``), with its own counter per client address. Only POSTs (attempts)
count; showing the form does not.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib import admin
from django.http import JsonResponse

from .exceptions import error_body
from .throttling import ScopedSettingsRateThrottle

_ADMIN_LOGIN_VIEW = SimpleNamespace(throttle_scope="auth")


class AdminLoginThrottle(ScopedSettingsRateThrottle):
    def get_cache_key(self, request, view):
        return f"throttle_admin_login_{self.get_ident(request)}"


def admin_login(request, extra_context=None):
    if request.method == "POST":
        throttle = AdminLoginThrottle()
        if not throttle.allow_request(request, _ADMIN_LOGIN_VIEW):
            wait_s = max(1, int(throttle.wait() or 1))
            response = JsonResponse(
                error_body(f"Too many login attempts; retry in {wait_s} seconds.", "throttled"), status=429
            )
            response["Retry-After"] = str(wait_s)
            return response
    return admin.site.login(request, extra_context)
