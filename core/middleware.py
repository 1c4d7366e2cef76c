"""Request guards that must run before any view parses a body, per-request observability, and the
cookie-based layers (sessions, auth, messages) scoped to the requests that use cookies. Django's CSRF
middleware stays global: it costs next to nothing for a cookie-less request, and `check --deploy`
looks for it."""

import logging
import time

from django.conf import settings
from django.contrib.auth import middleware as _auth
from django.contrib.messages import middleware as _messages
from django.contrib.sessions import middleware as _session
from django.http import JsonResponse
from django.utils.functional import SimpleLazyObject, empty

from . import metrics
from .exceptions import error_body

request_logger = logging.getLogger("spotify_redux.requests")


class RequestSizeLimitMiddleware:
    """Refuse bodies larger than DATA_UPLOAD_MAX_MEMORY_SIZE with a 413 before anyone reads them.

    DRF parsers read the raw stream and do not apply Django's upload limit themselves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            return JsonResponse(error_body("Content-Length must be a whole number.", "bad_request"), status=400)
        if limit is not None and length > limit:
            return JsonResponse(
                error_body(f"Request body too large: at most {limit} bytes are accepted.", "payload_too_large"),
                status=413,
            )
        return self.get_response(request)


def uses_cookies(request) -> bool:
    """Whether a request needs the cookie layers: the web pages and the admin (by path,
    ``settings.COOKIE_PATHS`` exactly or under ``settings.COOKIE_PATH_PREFIXES``), or any request that
    carries a session cookie (the web page's scripts call the JSON API with it)."""
    path = request.path_info
    return (
        path in settings.COOKIE_PATHS
        or path.startswith(tuple(settings.COOKIE_PATH_PREFIXES))
        or settings.SESSION_COOKIE_NAME in request.COOKIES
    )


class CookiePathsOnly:
    """Run this middleware only where cookies are in use (:func:`uses_cookies`); pass other requests by.

    The mobile client authenticates by bearer token and never sends a session, a CSRF cookie or a
    flash message, so for it these layers were pure cost: ~18% of a /health request profiled in
    one process (bench/profile_endpoints.py). Subclasses keep Django's classes (the admin's
    system checks look for them) and their hooks; only the per-request work is skipped.
    """

    def __call__(self, request):
        if uses_cookies(request):
            return super().__call__(request)
        return self.get_response(request)


class SessionMiddleware(CookiePathsOnly, _session.SessionMiddleware):
    pass


class AuthenticationMiddleware(CookiePathsOnly, _auth.AuthenticationMiddleware):
    pass


class MessageMiddleware(CookiePathsOnly, _messages.MessageMiddleware):
    pass


class RequestObservabilityMiddleware:
    """Outermost middleware: one latency observation and one log line per request.

    The log line (logger ``spotify_redux.requests``, INFO) carries method, route, status,
    duration_ms, user_id and model_version as fields (JSON with ``LOG_FORMAT=json``). The route is
    the URL pattern, not the path, so metric labels stay few. Cost: a few microseconds of metrics
    plus the log write; ``bench/observability.py`` measures it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        duration = time.perf_counter() - started
        match = request.resolver_match
        route = match.route if match is not None else metrics.UNMATCHED_ROUTE
        status = response.status_code
        method = request.method if request.method in metrics.KNOWN_METHODS else "OTHER"
        metrics.request_duration_child(route, method, status).observe(duration)
        if status == 429:
            metrics.throttled_requests.labels(route).inc()
        if settings.REQUEST_LOG and request_logger.isEnabledFor(logging.INFO):
            user_id = _user_id(request)
            version = metrics.served_model_version()
            request_logger.info(
                "%s %s %d %.1fms",
                method,
                route,
                status,
                duration * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                    "user_id": user_id,
                    "model_version": version,
                },
            )
        return response


def _user_id(request) -> int | None:
    """The authenticated user's id, without evaluating Django's lazy session user (a query)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:
            return None
        user = user._wrapped
    return user.pk if getattr(user, "is_authenticated", False) else None
