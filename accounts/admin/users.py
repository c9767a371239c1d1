"""The user page and list: profile, access, bans (read-only here, changed by the ban
actions), live sessions, 2FA devices, passkeys, linked Google accounts and recent events.

Saves, deletes and role changes go through accounts services, so each ends or re-caches
the user's sessions at once.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from social_django.models import UserSocialAuth

from accounts.admin.actions import ban_users, reset_two_factor, revoke_all_sessions, unban_users
from accounts.admin.filters import BannedFilter, TwoFactorFilter
from accounts.admin.forms import OperatorPasswordForm, acting_operator
from accounts.admin.passkeys import PasskeyInline, passkey_formset_save
from accounts.models import Passkey, User
from accounts.roles import user_roles, user_roles_changed
from accounts.selectors import users_for_operators
from accounts.services import user_delete, user_save_by_operator
from audit.retention import user_events
from authsvc.admin_site import ReadOnlyAdmin
from authsvc.http import client_info
from authsvc.replica import ReplicaChangelistMixin, replica
from sessions_store.selectors import live_sessions


@admin.register(User)
class UserAdmin(ReplicaChangelistMixin, DjangoUserAdmin):
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
    actions = (ban_users, unban_users, revoke_all_sessions, reset_two_factor)
    inlines = (PasskeyInline,)
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
        return self.on_replica(request, users_for_operators())

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
            for session in live_sessions(user.pk, using=replica())
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
            "<p>The action <em>Reset 2FA of selected users</em> removes them and the passkeys.</p>",
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
            for event in user_events(user_id=user.pk, using=replica())
        ]
        link = reverse("admin:audit_authevent_changelist") + f"?user__id__exact={user.pk}"
        if not rows:
            return format_html('None. <a href="{}">All events</a>', link)
        return format_html(
            '<table>{}</table><a href="{}">All events of this user</a>',
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
            link,
        )

    def get_inlines(self, request, obj):
        # Only for a user who has passkeys: nothing to show otherwise, and the user form
        # then posts as it always did.
        if obj is None or not Passkey.objects.filter(user=obj).exists():
            return ()
        return self.inlines

    def save_formset(self, request, form, formset, change):
        if formset.model is Passkey:
            passkey_formset_save(request, formset)
            return
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        before = user_roles(form.instance) if change else []
        super().save_related(request, form, formsets, change)
        user_roles_changed(
            user=form.instance, before=before, by=request.user, client=client_info(request)
        )


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"
