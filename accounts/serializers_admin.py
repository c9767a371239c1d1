"""Shapes of the operators' user endpoints (`/auth/users/`)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.bans import BAN_REASON_MAX_LENGTH
from authsvc.serializers import StrictCharField


class BanInfoSerializer(serializers.Serializer):
    banned_at = serializers.DateTimeField()
    until = serializers.DateTimeField(allow_null=True, help_text="Null for a permanent ban.")
    reason = serializers.CharField()
    by = serializers.UUIDField(
        allow_null=True, help_text="The operator; null when banned by a command."
    )


class OperatorUserSerializer(serializers.Serializer):
    """A user as operators see them."""

    # From `accounts.selectors.users_for_operators`.

    id = serializers.UUIDField()
    email = serializers.CharField()
    name = serializers.CharField()
    roles = serializers.SerializerMethodField()
    is_active = serializers.BooleanField(help_text="False while banned.")
    is_staff = serializers.BooleanField(help_text="May use the admin site.")
    email_verified = serializers.BooleanField()
    mfa_enabled = serializers.BooleanField(source="has_totp")
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)
    ban = serializers.SerializerMethodField()

    def get_roles(self, user) -> list[str]:
        return [group.name for group in user.groups.all()]

    @extend_schema_field(
        BanInfoSerializer(allow_null=True, help_text="Null unless the user is banned.")
    )
    def get_ban(self, user) -> dict | None:
        if not user.is_banned:
            return None
        return {
            "banned_at": serializers.DateTimeField().to_representation(user.banned_at),
            "until": serializers.DateTimeField().to_representation(user.banned_until)
            if user.banned_until
            else None,
            "reason": user.ban_reason,
            "by": str(user.banned_by_id) if user.banned_by_id else None,
        }


class BanSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=BAN_REASON_MAX_LENGTH)
    until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "When the ban lifts itself; must be in the future. Omitted or null for a permanent ban."
        ),
    )
