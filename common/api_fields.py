"""Serializer fields that take JSON as the schema describes it: a string field refuses a number or a boolean
(DRF's CharField would turn 0 into "0", accepting what the OpenAPI schema says is invalid)."""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)
