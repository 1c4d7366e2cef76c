"""Request guards that must run before any view parses a body."""

from django.conf import settings
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
