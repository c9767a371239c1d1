"""The audit log (`AuthEvent`), read-only."""

from django.contrib import admin

from audit.models import AuthEvent
from authsvc.admin_site import ReadOnlyAdmin


@admin.register(AuthEvent)
class AuthEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "type", "user", "ip", "session_id")
    list_filter = ("type", ("created_at", admin.DateFieldListFilter))
    date_hierarchy = "created_at"
    search_fields = ("user__email", "=ip", "=session_id")
    list_select_related = ("user",)
    fields = ("created_at", "type", "user", "session_id", "ip", "user_agent", "details")
    readonly_fields = fields
    show_full_result_count = False

    def lookup_allowed(self, lookup, value, request=None):
        # The user page links here with ?user__id__exact=<id>.
        return lookup == "user__id__exact" or super().lookup_allowed(lookup, value, request)
