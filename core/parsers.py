"""Request body parsers."""

from __future__ import annotations

from django.core.exceptions import TooManyFieldsSent
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that a body nested deeper than Python's parser can follow (a
    couple of kilobytes of ``[[[[...``) is a 400 like any other unparseable body: ``json`` raises
    RecursionError there, which DRF does not catch."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


class FormParser(parsers.FormParser):
    """DRF's form parser, except that Django's field-count guard (``DATA_UPLOAD_MAX_NUMBER_FIELDS``)
    is our 400 JSON error rather than Django's security-logged 400 page (an HTML traceback with
    ``DEBUG`` on)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except TooManyFieldsSent:
            raise ParseError("Form parse error - too many fields.") from None
