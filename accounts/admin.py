"""The admin for operators: users (roles, bans, sessions, events) and the audit log.

Every action goes through the same services as the API and the commands (`accounts.bans`,
`accounts.roles`, `sessions_store.services`); the admin only collects the input.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from social_django.models import UserSocialAuth

from accounts import bans
from accounts.admin_forms import OperatorPasswordForm, acting_operator
from accounts.audit import user_events
from accounts.bans import BAN_REASON_MAX_LENGTH
from accounts.mfa.services import mfa_reset
from accounts.models import AuthEvent, User
from accounts.roles import user_roles, user_roles_changed
from accounts.selectors import users_for_operators
from accounts.services import user_delete, user_save_by_operator
from authsvc import clock
from authsvc.admin_site import ReadOnlyAdmin
from authsvc.errors import ServiceError
from authsvc.http import client_info
from sessions_store.selectors import live_sessions
from sessions_store.services import user_sessions_revoke_by_operator


class BannedFilter(admin.SimpleListFilter):
    title = "banned"
    parameter_name = "banned"

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(banned_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(banned_at__isnull=True)
        return queryset


class TwoFactorFilter(admin.SimpleListFilter):
    title = "2FA"
    parameter_name = "two_factor"

    def lookups(self, request, model_admin):
        return (("yes", "On"), ("no", "Off"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(has_totp=True)
        if self.value() == "no":
            return queryset.filter(has_totp=False)
        return queryset


class BanForm(forms.Form):
    reason = forms.CharField(max_length=BAN_REASON_MAX_LENGTH, widget=forms.Textarea)
    until = forms.DateTimeField(
        required=False,
        help_text="Leave empty for a permanent ban. UTC, e.g. 2026-12-31 18:00.",
    )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("-date_joined",)
    list_display = (
        "email",
        "name",
        "roles",
        "is_active",
        "banned",
        "is_staff",
        "two_factor",
        "email_verified",
        "date_joined",
        "last_login",
    )
    list_filter = (BannedFilter, "is_staff", TwoFactorFilter, "email_verified", "groups")
    search_fields = ("email", "name")
    actions = ("ban_users", "unban_users", "revoke_all_sessions", "reset_two_factor")
    # Bans and is_active change only through the ban actions, which also end sessions.
    readonly_fields = (
        "id",
        "date_joined",
        "last_login",
        "is_active",
        "banned_at",
        "banned_until",
        "ban_reason",
        "banned_by",
        "sessions",
        "two_factor_devices",
        "linked_accounts",
        "recent_events",
    )
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("name", "email_verified")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Ban", {"fields": ("banned_at", "banned_until", "ban_reason", "banned_by")}),
        ("Sessions", {"fields": ("sessions",)}),
        ("Two-factor and linked accounts", {"fields": ("two_factor_devices", "linked_accounts")}),
        ("Recent events", {"fields": ("recent_events",)}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),
    )

    change_password_form = OperatorPasswordForm

    def get_queryset(self, request):
        return users_for_operators()

    # Every write below goes through an accounts service, so it ends or re-caches the
    # user's sessions at once (an admin edit must not leave a stale snapshot or a live
    # token behind).

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        user_save_by_operator(
            user=obj, changed=form.changed_data, by=request.user, client=client_info(request)
        )

    def delete_model(self, request, obj):
        user_delete(user=obj, by=request.user, client=client_info(request))

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # A user's sessions and tokens cannot be deleted on their own here (ReadOnlyAdmin),
        # but user_delete revokes them first and they go with the user.
        read_only = {
            str(model._meta.verbose_name)
            for model, model_admin in self.admin_site._registry.items()
            if isinstance(model_admin, ReadOnlyAdmin)
        }
        return deleted, model_count, perms_needed - read_only, protected

    def delete_queryset(self, request, queryset):
        for user in queryset:
            user_delete(user=user, by=request.user, client=client_info(request))

    def user_change_password(self, request, id, form_url=""):
        token = acting_operator.set((request.user, client_info(request)))
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            acting_operator.reset(token)

    @admin.display(description="roles")
    def roles(self, user):
        return ", ".join(group.name for group in user.groups.all())

    @admin.display(description="banned", boolean=True)
    def banned(self, user):
        return user.is_banned

    @admin.display(description="2FA", boolean=True)
    def two_factor(self, user):
        return user.has_totp

    @admin.display(description="live sessions")
    def sessions(self, user):
        rows = [
            (
                session.get_kind_display(),
                session.created_at.strftime("%Y-%m-%d %H:%M"),
                session.last_used_at.strftime("%Y-%m-%d %H:%M"),
                session.ip or "-",
                session.user_agent[:80],
                reverse("admin:sessions_store_session_revoke", args=[session.pk]),
            )
            for session in live_sessions(user.pk)
        ]
        if not rows:
            return "None"
        return format_html(
            "<table><tr><th>kind</th><th>started</th><th>last used</th><th>IP</th>"
            "<th>user agent</th><th></th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                '<td><a href="{}">revoke</a></td></tr>',
                rows,
            ),
        )

    @admin.display(description="2FA devices")
    def two_factor_devices(self, user):
        # Names and state only: the TOTP secret and backup code hashes stay in the database.
        rows = [
            (
                "Authenticator app",
                "confirmed" if device.confirmed else "pending setup",
                _when(device.last_used_at),
                device.throttling_failure_count,
            )
            for device in TOTPDevice.objects.filter(user=user).order_by("pk")
        ] + [
            (
                "Backup codes",
                f"{device.backup_codes.count()} unused",
                _when(device.last_used_at),
                "",
            )
            for device in StaticDevice.objects.filter(user=user)
        ]
        if not rows:
            return "None"
        return format_html(
            "<table><tr><th>device</th><th>state</th><th>last used</th>"
            "<th>wrong codes in a row</th></tr>{}</table>"
            "<p>The action <em>Reset 2FA of selected users</em> removes them.</p>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="linked accounts")
    def linked_accounts(self, user):
        rows = [
            (
                link.provider,
                (link.extra_data or {}).get("email", ""),
                link.uid,
                reverse("admin:social_django_usersocialauth_change", args=[link.pk]),
            )
            for link in UserSocialAuth.objects.filter(user=user)
        ]
        if not rows:
            return "None"
        return format_html(
            "<table><tr><th>provider</th><th>email</th><th>id</th><th></th></tr>{}</table>",
            format_html_join(
                "",
                '<tr><td>{}</td><td>{}</td><td>{}</td><td><a href="{}">details</a></td></tr>',
                rows,
            ),
        )

    @admin.display(description="recent events")
    def recent_events(self, user):
        rows = [
            (event.created_at.strftime("%Y-%m-%d %H:%M:%S"), event.type, event.ip or "-")
            for event in user_events(user_id=user.pk)
        ]
        link = reverse("admin:accounts_authevent_changelist") + f"?user__id__exact={user.pk}"
        if not rows:
            return format_html('None. <a href="{}">All events</a>', link)
        return format_html(
            '<table>{}</table><a href="{}">All events of this user</a>',
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
            link,
        )

    def save_related(self, request, form, formsets, change):
        before = user_roles(form.instance) if change else []
        super().save_related(request, form, formsets, change)
        user_roles_changed(
            user=form.instance, before=before, by=request.user, client=client_info(request)
        )

    @admin.action(description="Ban selected users…")
    def ban_users(self, request, queryset):
        form = BanForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for user in queryset:
                try:
                    bans.user_ban(
                        user=user,
                        reason=form.cleaned_data["reason"],
                        until=form.cleaned_data["until"],
                        by=request.user,
                        client=client_info(request),
                    )
                    done += 1
                except ServiceError as exc:
                    self.message_user(request, f"{user.email}: {_message(exc)}", messages.ERROR)
            if done:
                self.message_user(request, f"Banned {done} user(s).", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/accounts/user/ban.html",
            {
                **self.admin_site.each_context(request),
                "title": "Ban users",
                "opts": self.model._meta,
                "users": queryset,
                "form": form,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "now": clock.now(),
            },
        )

    @admin.action(description="Unban selected users")
    def unban_users(self, request, queryset):
        done = sum(
            bans.user_unban(user=user, by=request.user, client=client_info(request))
            for user in queryset
        )
        self.message_user(request, f"Unbanned {done} user(s).", messages.SUCCESS)

    @admin.action(description="Revoke all sessions of selected users")
    def revoke_all_sessions(self, request, queryset):
        count = sum(
            user_sessions_revoke_by_operator(
                user_id=user.pk, by=request.user, client=client_info(request)
            )
            for user in queryset
        )
        self.message_user(request, f"Revoked {count} session(s).", messages.SUCCESS)

    @admin.action(description="Reset 2FA of selected users")
    def reset_two_factor(self, request, queryset):
        done = sum(
            mfa_reset(user=user, by=request.user, client=client_info(request)) for user in queryset
        )
        self.message_user(
            request,
            f"Removed 2FA of {done} user(s); they log in with the password alone until they "
            "enrol again, and their sessions have ended.",
            messages.SUCCESS,
        )


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


def _message(exc: ServiceError) -> str:
    if exc.fields:
        return " ".join(" ".join(messages_) for messages_ in exc.fields.values())
    return exc.detail


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


# django-otp's own admin pages show the TOTP secret (and a QR code of it) to every staff
# user; operators see devices on the user page above and can only reset them. Imported
# first, so they are registered (and removed here) whatever the order of INSTALLED_APPS.
import django_otp.plugins.otp_static.admin  # noqa: E402
import django_otp.plugins.otp_totp.admin  # noqa: E402, F401

for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
