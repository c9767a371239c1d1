from rest_framework import serializers

from sessions_store.devices import describe_user_agent


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    device = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField()
    # "admin": an admin site login, listed so its owner can see and end it like any other.
    kind = serializers.ChoiceField(choices=["api", "admin"])

    def get_device(self, session) -> str:
        return describe_user_agent(session.user_agent)

    def get_current(self, session) -> bool:
        return str(session.pk) == self.context["current_sid"]
