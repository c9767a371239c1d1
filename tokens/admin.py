from django.contrib import admin

from authsvc.admin_site import ReadOnlyAdmin
from tokens.models import RefreshToken


@admin.register(RefreshToken)
class RefreshTokenAdmin(ReadOnlyAdmin):
    # The hash is never shown: it identifies a live credential.
    list_display = ("id", "session", "created_at", "expires_at", "used_at")
    fields = ("id", "session", "parent", "created_at", "expires_at", "used_at", "redelivered_at")
    readonly_fields = fields
    list_select_related = ("session",)
