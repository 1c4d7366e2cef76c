"""Request guards that must run before any view parses a body, and the cookie-based layers
(sessions, auth, messages) scoped to the requests that use cookies. Django's CSRF middleware stays
global: it costs next to nothing for a cookie-less request, and `check --deploy` looks for it."""

from django.conf import settings
from django.contrib.auth import middleware as _auth
from django.contrib.messages import middleware as _messages
from django.contrib.sessions import middleware as _session
from django.http import JsonResponse

from .exceptions import error_body


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
