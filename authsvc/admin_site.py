"""The admin site, with its login rate-limited like the API's credential endpoints.

Failed attempts are counted per client IP and per username (`AUTHSVC_RATE_LIMITS`
`admin_login_ip` / `admin_login_username`); once either is used up, the login answers 429
without checking the password, so the admin cannot be used to guess passwords.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.template.response import TemplateResponse

from accounts.emails import normalize_email
from authsvc.http import client_ip
from authsvc.ratelimit import RateLimited, rate_limit_refund, rate_limit_reserve


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browsable, never edited or deleted here: rows that record what happened (events,
    tokens, sessions) change only through their services or leave by retention
    (`purge_expired`). Deleting a session row, for one, would skip the store's tombstone."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AdminSite(admin.AdminSite):
    site_header = "authsvc administration"
    site_title = "authsvc admin"

    def login(self, request, extra_context=None):
        if request.method != "POST":
            return super().login(request, extra_context)
        limits = _login_limits(request)
        reserved = []
        try:
            # Counted before the password check (parallel guesses cannot all pass), given
            # back below when the login succeeds.
            for group, key in limits:
                rate_limit_reserve(request, group=group, key=key)
                reserved.append((group, key))
        except RateLimited as exc:
            for group, key in reserved:
                rate_limit_refund(request, group=group, key=key)
            response = TemplateResponse(
                request,
                "admin/login_rate_limited.html",
                {**self.each_context(request), "retry_after": exc.retry_after},
                status=429,
            )
            response["Retry-After"] = str(exc.retry_after)
            return response
        response = super().login(request, extra_context)
        # A successful login redirects; anything else re-shows the form with its error.
        if response.status_code == 302:
            for group, key in limits:
                rate_limit_refund(request, group=group, key=key)
        return response


def _login_limits(request) -> list[tuple[str, str]]:
    username = normalize_email(request.POST.get("username", ""))
    return [
        ("admin_login_ip", client_ip(request) or ""),
        ("admin_login_username", username),
    ]


class AdminConfig(DjangoAdminConfig):
    default_site = "authsvc.admin_site.AdminSite"
