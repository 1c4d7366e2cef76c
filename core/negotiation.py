"""Content negotiation."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

#: Accept headers under which DRF picks the first renderer as its own media type. (An empty
#: header is not one: DRF reads it as "nothing is acceptable" and answers 406.)
_ANY = (None, "*/*")


class FirstRendererWhenAnyWill(DefaultContentNegotiation):
    """DRF's negotiation, answered at once when the client leaves the choice to us: no format
    override and an Accept header that is absent, ``*/*`` or exactly the first renderer's media
    type (one without parameters). DRF picks the same renderer and media type there (it tries
    renderers in order), but parses and sorts the Accept list on every request first: 12% of a
    ``/health`` request's profiled time. Anything else (a format override, ``text/html``, a list
    with qualities, an empty header) goes through DRF's rules unchanged, 406 included;
    core/tests/test_negotiation.py checks both agree on every combination."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and not format_suffix and self.settings.URL_FORMAT_OVERRIDE not in request.query_params:
            first = renderers[0]
            accept = request.META.get("HTTP_ACCEPT")
            if (accept in _ANY or accept == first.media_type) and ";" not in first.media_type:
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
