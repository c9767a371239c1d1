from rest_framework import serializers

from authsvc.serializers import StrictCharField
from sessions_store.claims import (
    ATTRIBUTE_KEY_MAX_LENGTH,
    ATTRIBUTES_MAX_DEPTH,
    CLAIMS_MAX_BYTES,
    PERMISSION_MAX_LENGTH,
    PERMISSIONS_MAX,
)
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


# The body of PUT /auth/sessions/<sid>/claims/: types here, bounds in sessions_store.claims
# (the service checks them for every caller). A comment, not a docstring: the schema shows those.
class SessionClaimsSerializer(serializers.Serializer):
    permissions = serializers.ListField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False),
        required=False,
        help_text=(
            f"At most {PERMISSIONS_MAX} distinct names (repeats are dropped, the first place "
            f"kept), each 1 to {PERMISSION_MAX_LENGTH} of the characters `A-Z a-z 0-9 . _ : "
            "/ * @ + = -`. Omitted: none."
        ),
    )
    attributes = serializers.DictField(
        required=False,
        help_text=(
            "A JSON object, nested at most "
            f"{ATTRIBUTES_MAX_DEPTH} levels deep counting itself, keys of 1 to "
            f"{ATTRIBUTE_KEY_MAX_LENGTH} characters. Omitted: none. Permissions and attributes "
            f"together take at most {CLAIMS_MAX_BYTES} bytes as compact JSON with non-ASCII "
            "characters escaped, so that the access token carrying them still fits in its "
            "cookie."
        ),
    )

    def validate(self, data):
        # PUT replaces the whole set: a misspelt field must not silently clear the claims.
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return data


class SessionClaimsResponseSerializer(serializers.Serializer):
    sid = serializers.UUIDField()
    permissions = serializers.ListField(child=serializers.CharField())
    attributes = serializers.DictField()
