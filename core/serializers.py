"""Serializers shared by every app's OpenAPI description."""

from rest_framework import serializers


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
