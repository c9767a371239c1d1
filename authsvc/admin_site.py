"""The admin site: a rate-limited, two-step login and sessions that every revocation ends.

- Failed password attempts are counted per client IP and per username (`AUTHSVC_RATE_LIMITS`
  `admin_login_ip` / `admin_login_username`); once either is used up, the login answers 429
  without checking the password, so the admin cannot be used to guess passwords.
- A staff account with a second factor then gives a TOTP or backup code
  (`admin:login_2fa`), checked by the API's own code check and throttle.
- The login opens a `sessions_store.Session` (`accounts.admin_door`); Django's session holds
  its id, and every admin request checks it is still alive, logging the request out when not.
- With AUTHSVC_ADMIN_REQUIRE_2FA, a session opened without a second factor sees only the
  page that says how to enrol (and the logout).
"""

from functools import wraps

from django import forms
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from accounts.admin_door import (
    admin_login_complete,
    admin_login_password_failed,
    admin_login_password_passed,
    admin_logout,
    admin_needs_second_factor,
    admin_session_alive,
)
from accounts.emails import normalize_email
from accounts.exceptions import AccountDisabled, InvalidCode, MfaChallengeExpired
from accounts.mfa.challenge import Challenge
from authsvc.http import client_info, client_ip
from authsvc.ratelimit import RateLimited, rate_limit_refund, rate_limit_reserve
from authsvc.replica import ReplicaChangelistMixin

# Keys in Django's (admin-only) session.
ADMIN_SID_KEY = "authsvc_admin_sid"
ADMIN_EXPIRES_KEY = "authsvc_admin_expires"
CHALLENGE_KEY = "authsvc_admin_challenge"
NEXT_KEY = "authsvc_admin_next"
# What a session without the required second factor may still open.
_WITHOUT_SECOND_FACTOR = frozenset({"logout", "two_factor_required", "jsi18n"})
_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class ReadOnlyAdmin(ReplicaChangelistMixin, admin.ModelAdmin):
    """Browsable, never edited or deleted here: rows that record what happened (events,
    tokens, sessions) change only through their services or leave by retention
    (`purge_expired`). Deleting a session row, for one, would skip the store's tombstone."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=64,
        label="Code from your authenticator app, or a backup code",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class AdminSite(admin.AdminSite):
    site_header = "authsvc administration"
    site_title = "authsvc admin"

    def get_urls(self):
        return [
            path("login/2fa/", self.login_2fa, name="login_2fa"),
            path(
                "two-factor-required/",
                self.admin_view(self.two_factor_required),
                name="two_factor_required",
            ),
            *super().get_urls(),
        ]

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        @wraps(view)
        def checked(request, *args, **kwargs):
            snapshot = _admin_session_check(request)
            if (
                snapshot is not None
                and self.has_permission(request)
                and admin_needs_second_factor(snapshot)
                and request.resolver_match.url_name not in _WITHOUT_SECOND_FACTOR
            ):
                return HttpResponseRedirect(reverse("admin:two_factor_required"))
            return guarded(request, *args, **kwargs)

        return checked if cacheable else never_cache(checked)

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        # A dead session must not count as logged in, not even on this page.
        _admin_session_check(request)
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
            return self._rate_limited(request, exc)
        from django.contrib.admin.forms import AdminAuthenticationForm

        form = AdminAuthenticationForm(request, data=request.POST)
        client = client_info(request)
        if not form.is_valid():
            # The reserved attempts stay counted: this one failed.
            admin_login_password_failed(username=request.POST.get("username", ""), client=client)
            return self._login_form(request, form, extra_context)
        for group, key in limits:
            rate_limit_refund(request, group=group, key=key)
        step = admin_login_password_passed(user=form.get_user(), client=client)
        if isinstance(step, Challenge):
            request.session.cycle_key()
            request.session[CHALLENGE_KEY] = step.token
            request.session[NEXT_KEY] = _next_url(request, self.name)
            return HttpResponseRedirect(reverse("admin:login_2fa", current_app=self.name))
        _log_in(request, form.get_user(), step)
        return HttpResponseRedirect(_next_url(request, self.name))

    @method_decorator(never_cache)
    def login_2fa(self, request):
        token = request.session.get(CHALLENGE_KEY)
        if not token:
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        form = CodeForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                session = admin_login_complete(
                    token=token, code=form.cleaned_data["code"], client=client_info(request)
                )
            except RateLimited as exc:
                return self._rate_limited(request, exc)
            except InvalidCode:
                form.add_error("code", "That code is not right, or it has been used already.")
            except (MfaChallengeExpired, AccountDisabled):
                # Too many wrong codes, too late, or no longer allowed in: from the password.
                request.session.pop(CHALLENGE_KEY, None)
                return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
            else:
                next_url = request.session.get(NEXT_KEY) or reverse("admin:index")
                _log_in(request, session.user, session)
                return HttpResponseRedirect(next_url)
        context = {
            **self.each_context(request),
            "title": "Two-factor authentication",
            "form": form,
        }
        return TemplateResponse(request, "admin/login_2fa.html", context)

    def logout(self, request, extra_context=None):
        if request.method == "POST" and request.user.is_authenticated:
            # The session row ends first, so a copy of this cookie is worth nothing after.
            admin_logout(
                user_id=request.user.pk,
                sid=request.session.get(ADMIN_SID_KEY),
                client=client_info(request),
            )
        return super().logout(request, extra_context)

    def password_change(self, request, extra_context=None):
        from accounts.admin.forms import OwnPasswordChangeView

        context = {**self.each_context(request), **(extra_context or {})}
        request.current_app = self.name
        return OwnPasswordChangeView.as_view(
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context=context,
            sid_key=ADMIN_SID_KEY,
        )(request)

    def two_factor_required(self, request):
        context = {
            **self.each_context(request),
            "title": "Two-factor authentication required",
            "is_nav_sidebar_enabled": False,
            "available_apps": [],
        }
        return TemplateResponse(request, "admin/two_factor_required.html", context)

    def _rate_limited(self, request, exc: RateLimited):
        response = TemplateResponse(
            request,
            "admin/login_rate_limited.html",
            {**self.each_context(request), "retry_after": exc.retry_after},
            status=429,
        )
        response["Retry-After"] = str(exc.retry_after)
        return response

    def _login_form(self, request, form, extra_context):
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
            "form": form,
            REDIRECT_FIELD_NAME: _next_url(request, self.name),
            **(extra_context or {}),
        }
        request.current_app = self.name
        return TemplateResponse(request, self.login_template or "admin/login.html", context)


def _admin_session_check(request):
    """The live admin session's snapshot; a request whose session has ended (logout
    elsewhere, a revocation, a ban, a password change) is logged out here."""
    if not request.user.is_authenticated:
        return None
    snapshot = admin_session_alive(
        sid=request.session.get(ADMIN_SID_KEY),
        user_id=request.user.pk,
        expires_at=request.session.get(ADMIN_EXPIRES_KEY),
    )
    if snapshot is None:
        auth_logout(request)
    return snapshot


def _log_in(request, user, session) -> None:
    request.session.pop(CHALLENGE_KEY, None)
    request.session.pop(NEXT_KEY, None)
    auth_login(request, user, backend=_MODEL_BACKEND)
    request.session[ADMIN_SID_KEY] = str(session.pk)
    request.session[ADMIN_EXPIRES_KEY] = int(session.expires_at.timestamp())


def _next_url(request, site_name: str) -> str:
    candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index", current_app=site_name)


def _login_limits(request) -> list[tuple[str, str]]:
    username = normalize_email(request.POST.get("username", ""))
    return [
        ("admin_login_ip", client_ip(request) or ""),
        ("admin_login_username", username),
    ]
