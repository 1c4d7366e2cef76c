"""JSON answers for errors raised outside DRF views (unknown URLs, server bugs)."""

from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static

from .exceptions import error_body


def not_found(request, exception=None):
    return JsonResponse(error_body("No such endpoint.", "not_found"), status=404)


def bad_request(request, exception=None):
    return JsonResponse(error_body("Bad request.", "bad_request"), status=400)


def permission_denied(request, exception=None):
    return JsonResponse(error_body("You do not have permission to do this.", "permission_denied"), status=403)


def server_error(request):
    return JsonResponse(error_body("Internal server error.", "server_error"), status=500)


def favicon(request):
    """Browsers ask for /favicon.ico on any page (the API docs too); the icon is a static SVG."""
    return redirect(static("web/favicon.svg"))
