"""Serializers shared by every app: the base of request validation, and the OpenAPI description's."""

import threading

from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict


class RequestSerializer(serializers.Serializer):
    """Base of every serializer that validates a request's body or query: its fields are built once
    per class and thread, not once per request.

    DRF builds a serializer's fields for every instance, by deep-copying the declared ones (each
    copy re-runs the field's ``__init__``, validators and all): validating cold-start's input took
    62 us in one process, 25 us with the fields reused, and the copy was 7% of a worker's busy time
    under load at 1M songs (py-spy).

    Reuse is safe for what these serializers are, flat validators of request data: their fields
    read nothing from the serializer they are bound to but ``root.partial`` (refused below) and the
    context (none is passed), and keep no state between calls. One set per thread, not per process:
    binding sets each field's ``parent``, and with several gunicorn threads two requests are in
    flight at once.
    """

    _fields_of_this_thread = threading.local()

    def __init__(self, *args, **kwargs):
        if kwargs.get("partial") or kwargs.get("context"):
            raise TypeError(f"{type(self).__name__} validates whole requests: no partial=, no context=.")
        super().__init__(*args, **kwargs)

    @cached_property
    def fields(self):
        by_class = self._fields_of_this_thread.__dict__.setdefault("by_class", {})
        fields = by_class.get(type(self))
        if fields is None:
            fields = BindingDict(self)
            for name, field in self.get_fields().items():
                fields[name] = field
            by_class[type(self)] = fields
        return fields


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="A sentence for a person.")
    code = serializers.CharField(help_text="A stable machine-readable code.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation messages per field (400 only). A list item's field is named "
        "`field[index]`, a nested object's `field.key`.",
    )
    unknown = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="The songs that are not in the catalog (404 unknown_seeds only).",
    )


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of quietly turning them into text."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)
