"""The queue, read-only, with one action: retry now (mailqueue.delivery.mail_retry)."""

from django.contrib import admin, messages

from authsvc.admin_site import ReadOnlyAdmin
from mailqueue.delivery import mail_retry
from mailqueue.models import QueuedMail


@admin.register(QueuedMail)
class QueuedMailAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "kind",
        "to",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status", "kind", ("created_at", admin.DateFieldListFilter))
    date_hierarchy = "created_at"
    # An address, or the X-Request-ID of the request that queued it (from a log line).
    search_fields = ("=to", "=request_id")
    fields = (
        "kind",
        "to",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "last_attempt_at",
        "finished_at",
        "last_error",
        "params",
        "request_id",
    )
    readonly_fields = fields
    actions = ("retry_now",)
    show_full_result_count = False

    def has_retry_permission(self, request) -> bool:
        # Retrying changes only when a mail goes, never what it says.
        return request.user.has_perm("mailqueue.change_queuedmail")

    @admin.action(description="Retry selected mail now", permissions=["retry"])
    def retry_now(self, request, queryset):
        retried = mail_retry(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            f"{retried} mail(s) due now; sent and skipped mail is left as it is.",
            messages.SUCCESS,
        )
