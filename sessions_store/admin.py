from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path

from authsvc.admin_site import ReadOnlyAdmin
from authsvc.http import client_info
from sessions_store.models import Session
from sessions_store.services import session_revoke_by_operator


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "kind", "created_at", "last_used_at", "ip", "revoked_at")
    list_filter = ("kind", "revoked_reason")
    search_fields = ("user__email", "ip")
    list_select_related = ("user",)
    readonly_fields = [f.name for f in Session._meta.fields]
    actions = ("revoke_sessions",)

    def get_urls(self):
        revoke = self.admin_site.admin_view(self.revoke_view)
        return [
            path("<uuid:session_id>/revoke/", revoke, name="sessions_store_session_revoke"),
            *super().get_urls(),
        ]

    def revoke_view(self, request, session_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        session = get_object_or_404(Session.objects.select_related("user"), pk=session_id)
        if request.method == "POST":
            session_revoke_by_operator(
                session_id=session.pk, by=request.user, client=client_info(request)
            )
            self.message_user(request, "Session revoked.", messages.SUCCESS)
            return redirect("admin:accounts_user_change", session.user_id)
        context = {**self.admin_site.each_context(request), "session": session, "title": "Revoke"}
        return TemplateResponse(request, "admin/sessions_store/session/revoke.html", context)

    @admin.action(description="Revoke selected sessions")
    def revoke_sessions(self, request, queryset):
        count = sum(
            session_revoke_by_operator(session_id=pk, by=request.user, client=client_info(request))
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Revoked {count} session(s).", messages.SUCCESS)
