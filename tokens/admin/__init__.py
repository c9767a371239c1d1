"""The tokens admin, found by Django's autodiscovery of `tokens.admin`.

- refresh tokens: read-only, never the hash
- `service_clients`: the service clients' list and page, created, changed, rotated,
  disabled and enabled through `tokens.service_clients` (`forms`: their forms)
"""

from django.contrib import admin

from authsvc.admin_site import ReadOnlyAdmin
from tokens.admin import service_clients  # noqa: F401 - registering is importing
from tokens.models import RefreshToken


@admin.register(RefreshToken)
class RefreshTokenAdmin(ReadOnlyAdmin):
    # The hash is never shown: it identifies a live credential.
    list_display = ("id", "session", "created_at", "expires_at", "used_at")
    fields = ("id", "session", "parent", "created_at", "expires_at", "used_at", "redelivered_at")
    readonly_fields = fields
    list_select_related = ("session",)
