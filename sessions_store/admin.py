from django.contrib import admin

from sessions_store.models import Session


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "created_at", "last_used_at", "ip", "revoked_at")
    list_filter = ("revoked_reason",)
    search_fields = ("user__email", "ip")
    list_select_related = ("user",)
    readonly_fields = [f.name for f in Session._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
