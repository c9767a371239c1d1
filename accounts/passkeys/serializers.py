"""Input and output shapes of the passkey endpoints."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.passkeys.services import NAME_MAX_LENGTH
from authsvc.serializers import StrictCharField


@extend_schema_field(OpenApiTypes.OBJECT)
class CredentialField(serializers.Field):
    """The browser's PublicKeyCredential as JSON (`credential.toJSON()`, base64url binary
    fields); py_webauthn reads the rest."""

    default_error_messages = {"invalid": "Expected a PublicKeyCredential as a JSON object."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        return data


class PasskeySerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    last_used_at = serializers.DateTimeField(read_only=True, allow_null=True)


class PasskeyCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class PasskeyRegisterSerializer(serializers.Serializer):
    credential = CredentialField()
    name = StrictCharField(max_length=NAME_MAX_LENGTH, required=False)


class PasskeyRenameSerializer(serializers.Serializer):
    name = StrictCharField(max_length=NAME_MAX_LENGTH)


class PasskeyAssertionSerializer(serializers.Serializer):
    credential = CredentialField()
