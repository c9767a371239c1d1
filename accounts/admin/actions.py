"""The user list's bulk actions: ban, unban, end every session, reset 2FA.

Each calls the service the API and the commands call (`accounts.bans`,
`sessions_store.services`, `accounts.mfa.services`); the admin only collects the input.
"""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse

from accounts import bans
from accounts.admin.forms import BanForm
from accounts.mfa.services import mfa_reset
from authsvc import clock
from authsvc.errors import ServiceError
from authsvc.http import client_info
from sessions_store.services import user_sessions_revoke_by_operator


@admin.action(description="Ban selected users…")
def ban_users(modeladmin, request, queryset):
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
                modeladmin.message_user(request, f"{user.email}: {_message(exc)}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"Banned {done} user(s).", messages.SUCCESS)
        return None
    return TemplateResponse(
        request,
        "admin/accounts/user/ban.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": "Ban users",
            "opts": modeladmin.model._meta,
            "users": queryset,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "now": clock.now(),
        },
    )


@admin.action(description="Unban selected users")
def unban_users(modeladmin, request, queryset):
    done = sum(
        bans.user_unban(user=user, by=request.user, client=client_info(request))
        for user in queryset
    )
    modeladmin.message_user(request, f"Unbanned {done} user(s).", messages.SUCCESS)


@admin.action(description="Revoke all sessions of selected users")
def revoke_all_sessions(modeladmin, request, queryset):
    count = sum(
        user_sessions_revoke_by_operator(
            user_id=user.pk, by=request.user, client=client_info(request)
        )
        for user in queryset
    )
    modeladmin.message_user(request, f"Revoked {count} session(s).", messages.SUCCESS)


@admin.action(description="Reset 2FA of selected users")
def reset_two_factor(modeladmin, request, queryset):
    done = sum(
        mfa_reset(user=user, by=request.user, client=client_info(request)) for user in queryset
    )
    modeladmin.message_user(
        request,
        f"Removed 2FA of {done} user(s); they log in with the password alone until they "
        "enrol again, and their sessions have ended.",
        messages.SUCCESS,
    )


def _message(exc: ServiceError) -> str:
    if exc.fields:
        return " ".join(" ".join(messages_) for messages_ in exc.fields.values())
    return exc.detail
