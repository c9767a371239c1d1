"""Input and output shapes of the account endpoints; no logic beyond types and bounds."""

from django.conf import settings
from rest_framework import serializers

from accounts.emails import EMAIL_MAX_LENGTH
from accounts.mfa.serializers import CODE_MAX_LENGTH
from authsvc.serializers import StrictCharField

NAME_MAX_LENGTH = 150


def _password_field() -> StrictCharField:
    # Bounded here so an oversized password is refused before anything hashes it.
    return StrictCharField(
        max_length=settings.AUTHSVC_PASSWORD_MAX_LENGTH, trim_whitespace=False, write_only=True
    )


class RegisterSerializer(serializers.Serializer):
    email = StrictCharField(max_length=EMAIL_MAX_LENGTH)
    password = _password_field()
    name = StrictCharField(max_length=NAME_MAX_LENGTH, required=False, allow_blank=True, default="")


class LoginSerializer(serializers.Serializer):
    email = StrictCharField(max_length=EMAIL_MAX_LENGTH)
    password = _password_field()


class ProfileUpdateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=NAME_MAX_LENGTH, allow_blank=True)


class ProfileSerializer(serializers.Serializer):
    """The profile, from a session snapshot."""

    id = serializers.UUIDField(source="user_id")
    email = serializers.CharField()
    name = serializers.CharField()
    roles = serializers.ListField(
        child=serializers.CharField(), help_text="The names of the user's groups."
    )
    email_verified = serializers.BooleanField()
    mfa_enabled = serializers.BooleanField()
    date_joined = serializers.DateTimeField()


class RegisteredSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email_verification_required = serializers.BooleanField(
        required=False,
        help_text="Present (and no cookies set) when logins wait for a verified email.",
    )


class MfaRequiredSerializer(serializers.Serializer):
    """A right password for an account with 2FA: `POST /auth/2fa/verify/` comes next."""

    mfa_required = serializers.BooleanField()
    methods = serializers.ListField(
        child=serializers.ChoiceField(choices=["totp", "backup_code", "passkey"])
    )


class PasswordChangeSerializer(serializers.Serializer):
    current_password = _password_field()
    new_password = _password_field()


class PasswordResetSerializer(serializers.Serializer):
    email = StrictCharField(max_length=EMAIL_MAX_LENGTH)


class LoginCodeRequestSerializer(serializers.Serializer):
    email = StrictCharField(max_length=EMAIL_MAX_LENGTH)


class LoginCodeConfirmSerializer(serializers.Serializer):
    email = StrictCharField(max_length=EMAIL_MAX_LENGTH)
    # Six digits; spaces and dashes, as the mail shows them, are dropped by the service.
    code = StrictCharField(max_length=16)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = StrictCharField(max_length=64)
    token = StrictCharField(max_length=128)
    new_password = _password_field()


class EmailVerifySerializer(serializers.Serializer):
    key = StrictCharField(max_length=512)


class ReauthSerializer(serializers.Serializer):
    """Exactly one proof: the password, or (accounts with 2FA) a TOTP or backup code."""

    password = StrictCharField(
        max_length=settings.AUTHSVC_PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        write_only=True,
        required=False,
    )
    code = StrictCharField(max_length=CODE_MAX_LENGTH, trim_whitespace=True, required=False)

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError("Send either password or code.")
        return attrs


class AuthTimeSerializer(serializers.Serializer):
    auth_time = serializers.IntegerField()


class EmailChangeSerializer(serializers.Serializer):
    new_email = StrictCharField(max_length=EMAIL_MAX_LENGTH)
    password = _password_field()


class EmailChangeConfirmSerializer(serializers.Serializer):
    key = StrictCharField(max_length=1024)
