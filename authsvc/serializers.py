"""Serializer fields shared by every app: strict about types, bounded in length."""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, booleans and lists instead of coercing them."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# Response shapes shared by several endpoints, for drf-spectacular's generator only (the
# views build these bodies as plain dicts).
class UserIdSerializer(serializers.Serializer):
    id = serializers.UUIDField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
