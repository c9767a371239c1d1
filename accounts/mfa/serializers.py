"""Input and output shapes of the 2FA endpoints."""

from django.conf import settings
from rest_framework import serializers

from authsvc.serializers import StrictCharField

# Long enough for a backup code with separators, short enough to refuse junk early.
CODE_MAX_LENGTH = 32


def _code_field() -> StrictCharField:
    return StrictCharField(max_length=CODE_MAX_LENGTH, trim_whitespace=True)


class CodeSerializer(serializers.Serializer):
    code = _code_field()


class DisableSerializer(serializers.Serializer):
    password = StrictCharField(
        max_length=settings.AUTHSVC_PASSWORD_MAX_LENGTH, trim_whitespace=False, write_only=True
    )
    code = _code_field()


class TotpEnrolmentSerializer(serializers.Serializer):
    otpauth_uri = serializers.CharField()
    secret = serializers.CharField()
    qr_svg = serializers.CharField()
