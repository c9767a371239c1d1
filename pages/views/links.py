"""Where the emails' links land: password reset, email verification, email change.

A link's GET only shows a form (a mail scanner that fetches it changes nothing); the
person's POST, with the CSRF token, calls the service the API calls."""

from django.contrib import messages
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import email_change, passwords, verification
from accounts.emails import normalize_email
from authsvc.errors import ServiceError
from authsvc.http import client_info
from authsvc.ratelimit import rate_limit, rate_limit_ip
from pages.errors import form_error, message_for
from pages.forms import KeyForm, PasswordResetConfirmForm, PasswordResetForm
from pages.views.common import page, see_other
from tokens.cookies import clear_auth_cookies


@require_http_methods(["GET", "POST"])
def password_reset(request):
    if request.method == "GET":
        return page(request, "pages/password_reset.html", {"form": PasswordResetForm()})
    form = PasswordResetForm(request.POST)
    status = 400
    if form.is_valid():
        email = normalize_email(form.cleaned_data["email"])
        try:
            # Per address as well as per IP, as the API: one address must not be bombed.
            rate_limit_ip(request, "password_reset_ip")
            rate_limit(request, group="password_reset_email", key=email)
            passwords.password_reset_request(email=email, client=client_info(request))
        except ServiceError as exc:
            status = form_error(form, exc)
        else:
            # The same answer whether or not the address has an account.
            return page(request, "pages/password_reset_sent.html", {"email": email})
    return page(request, "pages/password_reset.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request):
    if request.method == "GET":
        form = PasswordResetConfirmForm(
            initial={"uid": request.GET.get("uid", ""), "token": request.GET.get("token", "")}
        )
        if not request.GET.get("uid") or not request.GET.get("token"):
            return _invalid_link(request)
        return page(request, "pages/password_reset_confirm.html", {"form": form})
    form = PasswordResetConfirmForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            rate_limit_ip(request, "password_reset_confirm_ip")
            passwords.password_reset_confirm(**form.cleaned_data, client=client_info(request))
        except ServiceError as exc:
            if exc.code == "invalid_token":
                return _invalid_link(request, status=400)
            status = form_error(form, exc)
        else:
            messages.success(
                request, _("Your password is changed and every session signed out. Sign in.")
            )
            response = see_other("/login/")
            clear_auth_cookies(response)
            return response
    elif "uid" in form.errors or "token" in form.errors:
        return _invalid_link(request, status=400)
    return page(request, "pages/password_reset_confirm.html", {"form": form}, status=status)


def _invalid_link(request, status: int = 200):
    return page(
        request,
        "pages/link_invalid.html",
        {"message": _("This link is invalid, has expired or was already used.")},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def email_verify(request):
    return _key_page(
        request,
        template="pages/email_verify.html",
        group="email_verify_ip",
        confirm=verification.email_verify,
        done=_("Your email address is verified."),
    )


@require_http_methods(["GET", "POST"])
def email_change_confirm(request):
    return _key_page(
        request,
        template="pages/email_change_confirm.html",
        group="email_change_confirm_ip",
        confirm=email_change.email_change_confirm,
        done=_("Your email address is changed."),
    )


def _key_page(request, *, template: str, group: str, confirm, done: str):
    if request.method == "GET":
        key = request.GET.get("key", "")
        if not key:
            return _invalid_link(request)
        return page(request, template, {"form": KeyForm(initial={"key": key})})
    form = KeyForm(request.POST)
    if not form.is_valid():
        return _invalid_link(request, status=400)
    try:
        rate_limit_ip(request, group)
        confirm(key=form.cleaned_data["key"], client=client_info(request))
    except ServiceError as exc:
        if exc.code == "invalid_token":
            return _invalid_link(request, status=400)
        return page(request, "pages/link_invalid.html", {"message": message_for(exc)}, status=400)
    return page(request, "pages/done.html", {"message": done})
