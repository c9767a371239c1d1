from django.contrib import admin

from tokens.models import RefreshToken


@admin.register(RefreshToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    # The hash is never shown: it identifies a live credential.
    list_display = ("id", "session", "created_at", "expires_at", "used_at")
    fields = ("id", "session", "parent", "created_at", "expires_at", "used_at")
    readonly_fields = fields
    list_select_related = ("session",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Tokens end with their session (revoke it) or by expiry (purge_expired).
        return False
