"""Shapes of the operators' user endpoints (`/auth/users/`)."""

from rest_framework import serializers

from accounts.bans import BAN_REASON_MAX_LENGTH
from authsvc.serializers import StrictCharField


class OperatorUserSerializer(serializers.Serializer):
    """A user as operators see them, from `accounts.selectors.users_for_operators`."""

    id = serializers.UUIDField()
    email = serializers.CharField()
    name = serializers.CharField()
    roles = serializers.SerializerMethodField()
    is_active = serializers.BooleanField()
    is_staff = serializers.BooleanField()
    email_verified = serializers.BooleanField()
    mfa_enabled = serializers.BooleanField(source="has_totp")
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField()
    ban = serializers.SerializerMethodField()

    def get_roles(self, user) -> list[str]:
        return [group.name for group in user.groups.all()]

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
    until = serializers.DateTimeField(required=False, allow_null=True, default=None)
