"""Content negotiation."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

#: Accept headers that any renderer satisfies as its own media type.
_ANY = (None, "", "*/*")


class FirstRendererWhenAnyWill(DefaultContentNegotiation):
    """DRF's negotiation, answered at once when the client leaves the choice to us: no format
    override and an Accept header that is absent, ``*/*`` or exactly the first renderer's media
    type. DRF would pick the same renderer and media type there (it tries renderers in order), but
    parses and sorts the Accept list on every request first: ~10% of a ``/health`` request
    profiled in one process. Anything else (a format override, ``text/html``, a list with
    qualities) goes through DRF's rules unchanged, including its 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and not format_suffix and self.settings.URL_FORMAT_OVERRIDE not in request.query_params:
            first = renderers[0]
            accept = request.META.get("HTTP_ACCEPT")
            if accept in _ANY or accept == first.media_type:
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
