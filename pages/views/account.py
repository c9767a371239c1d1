"""/account/: the profile, the email, the password, the sessions, the second factor and
Google. Every form posts to its own path and calls the service the API endpoint calls,
with the same limits; the changes the API guards by step-up ask for a fresh proof here too
(`accounts.reauth.recent_auth_require`, then the reauth form)."""

import base64

from django.contrib import messages
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import email_change as email_change_service
from accounts import passwords, services, verification
from accounts import reauth as reauth_service
from accounts.exceptions import InvalidCode, InvalidCredentials, ReauthRequired
from accounts.mfa import services as mfa_services
from accounts.models import User
from accounts.passkeys import services as passkey_services
from accounts.social import services as social_services
from accounts.social import views as social_views
from authsvc.errors import ServiceError
from authsvc.http import client_info
from authsvc.ratelimit import failures_limited, rate_limit
from pages.auth import signed_in, with_next
from pages.errors import form_error, message_for
from pages.forms import (
    BackupCodesForm,
    EmailChangeForm,
    MfaDisableForm,
    PasswordChangeForm,
    ProfileForm,
    ReauthCodeForm,
    ReauthPasswordForm,
    TotpConfirmForm,
)
from pages.views.common import google_configured, next_from, page, see_other
from sessions_store.devices import describe_user_agent
from sessions_store.selectors import live_sessions
from sessions_store.services import user_logout_everywhere, user_session_revoke
from tokens.cookies import clear_auth_cookies


def _overview_context(request, **forms) -> dict:
    principal = request.page_user
    user = User.objects.get(pk=principal.id)
    sessions = [
        {
            "id": session.pk,
            "device": describe_user_agent(session.user_agent),
            "ip": session.ip,
            "created_at": session.created_at,
            "last_used_at": session.last_used_at,
            "current": str(session.pk) == principal.sid,
        }
        for session in live_sessions(user.pk)
    ]
    return {
        "account": user,
        "sessions": sessions,
        "mfa_enabled": mfa_services.mfa_enabled(user),
        "passkeys": list(passkey_services.passkeys_list(user_id=user.pk)),
        "google": google_configured(),
        "google_email": social_services.google_linked_email(user_id=user.pk),
        "profile_form": forms.get("profile_form") or ProfileForm(initial={"name": user.name}),
        "email_form": forms.get("email_form") or EmailChangeForm(),
        "password_form": forms.get("password_form") or PasswordChangeForm(),
        "disable_form": forms.get("disable_form") or MfaDisableForm(),
        "backup_form": forms.get("backup_form") or BackupCodesForm(prefix="backup"),
        "has_password": user.has_usable_password(),
    }


def _overview(request, status: int = 200, **forms):
    return page(request, "pages/account.html", _overview_context(request, **forms), status=status)


@require_http_methods(["GET"])
@signed_in
def overview(request):
    return _overview(request)


def _stepped_up(request, back: str):
    """None when the session proved a factor recently, else the redirect to the reauth
    form, which comes back to `back`."""
    try:
        reauth_service.recent_auth_require(request.page_user.snapshot)
    except ReauthRequired:
        return see_other(with_next("/account/reauth/", back))
    return None


@require_POST
@signed_in
def profile(request):
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return _overview(request, status=400, profile_form=form)
    services.user_profile_update(user_id=request.page_user.id, name=form.cleaned_data["name"])
    messages.success(request, _("Your name is saved."))
    return see_other("/account/")


@require_POST
@signed_in
def email_change(request):
    redirect = _stepped_up(request, "/account/#email")
    if redirect:
        return redirect
    form = EmailChangeForm(request.POST)
    status = 400
    if form.is_valid():
        user = request.page_user
        try:
            rate_limit(request, group="email_change_user", key=str(user.id))
            email_change_service.email_change_request(
                user_id=user.id,
                session_id=user.sid,
                new_email=form.cleaned_data["new_email"],
                password=form.cleaned_data["password"],
                client=client_info(request),
            )
        except ServiceError as exc:
            status = form_error(form, exc)
        else:
            messages.success(
                request,
                _("We sent a link to %(email)s: follow it to confirm the change.")
                % {"email": form.cleaned_data["new_email"]},
            )
            return see_other("/account/")
    return _overview(request, status=status, email_form=form)


@require_POST
@signed_in
def email_resend(request):
    try:
        rate_limit(request, group="email_verify_resend_user", key=str(request.page_user.id))
    except ServiceError as exc:
        messages.error(request, message_for(exc))
        return see_other("/account/")
    if verification.email_verification_resend(user_id=request.page_user.id):
        messages.success(request, _("A new verification link is on its way."))
    else:
        messages.info(request, _("Your email address is already verified."))
    return see_other("/account/")


@require_POST
@signed_in
def password_change(request):
    form = PasswordChangeForm(request.POST)
    status = 400
    if form.is_valid():
        user = request.page_user
        try:
            passwords.password_change(
                user_id=user.id,
                session_id=user.sid,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                client=client_info(request),
            )
        except ServiceError as exc:
            status = form_error(form, exc)
        else:
            messages.success(
                request, _("Your password is changed; your other sessions are signed out.")
            )
            return see_other("/account/")
    return _overview(request, status=status, password_form=form)


@require_POST
@signed_in
def session_revoke(request, sid):
    user = request.page_user
    try:
        user_session_revoke(user_id=user.id, session_id=sid, client=client_info(request))
    except ServiceError as exc:
        messages.error(request, message_for(exc))
        return see_other("/account/#sessions")
    if str(sid) == user.sid:
        response = see_other("/login/")
        clear_auth_cookies(response)
        return response
    messages.success(request, _("The session is signed out."))
    return see_other("/account/#sessions")


@require_POST
@signed_in
def sessions_revoke_all(request):
    user_logout_everywhere(user_id=request.page_user.id, client=client_info(request))
    messages.success(request, _("Every session, this one included, is signed out."))
    response = see_other("/login/")
    clear_auth_cookies(response)
    return response


@require_POST
@signed_in
def passkey_rename(request, passkey_id):
    user = request.page_user
    try:
        passkey_services.passkey_rename(
            user_id=user.id,
            passkey_id=passkey_id,
            name=request.POST.get("name", "")[: passkey_services.NAME_MAX_LENGTH + 1],
            client=client_info(request),
            sid=user.sid,
        )
    except ServiceError as exc:
        messages.error(request, _first_field_error(exc))
    else:
        messages.success(request, _("The passkey is renamed."))
    return see_other("/account/#passkeys")


@require_POST
@signed_in
def passkey_delete(request, passkey_id):
    """As DELETE /auth/passkeys/<id>/: the user's own passkey, after a recent proof."""
    redirect = _stepped_up(request, "/account/#passkeys")
    if redirect:
        return redirect
    user = request.page_user
    try:
        passkey = passkey_services.passkey_get(user_id=user.id, passkey_id=passkey_id)
    except ServiceError as exc:
        messages.error(request, message_for(exc))
        return see_other("/account/#passkeys")
    passkey_services.passkey_delete(passkey=passkey, client=client_info(request), sid=user.sid)
    messages.success(
        request,
        _(
            "The passkey is deleted; your other sessions are signed out. Your password still "
            "signs you in."
        ),
    )
    return see_other("/account/#passkeys")


def _first_field_error(exc: ServiceError) -> str:
    for errors in (exc.fields or {}).values():
        if errors:
            return str(errors[0])
    return message_for(exc)


def _qr_data_uri(svg: str) -> str:
    # An <img> of a data: URI, never inline markup: the SVG cannot run or style the page.
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _enrolment_page(request, enrolment, form, status=200):
    return page(
        request,
        "pages/totp_setup.html",
        {
            "enrolment": enrolment,
            "qr": _qr_data_uri(enrolment.qr_svg) if enrolment else None,
            "form": form,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@signed_in
def totp_setup(request):
    """GET shows the pending enrolment (or the button that starts one); POST starts a new
    one. The secret and its QR code are on a page no cache keeps."""
    redirect = _stepped_up(request, "/account/2fa/setup/")
    if redirect:
        return redirect
    user = request.page_user
    if request.method == "POST":
        try:
            mfa_services.totp_setup(user_id=user.id)
        except ServiceError as exc:
            messages.error(request, message_for(exc))
            return see_other("/account/")
        return see_other("/account/2fa/setup/")
    enrolment = mfa_services.totp_enrolment_pending(user_id=user.id)
    return _enrolment_page(request, enrolment, TotpConfirmForm())


@require_POST
@signed_in
def totp_confirm(request):
    redirect = _stepped_up(request, "/account/2fa/setup/")
    if redirect:
        return redirect
    user = request.page_user
    form = TotpConfirmForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            codes = mfa_services.totp_confirm(
                user_id=user.id,
                session_id=user.sid,
                code=form.cleaned_data["code"],
                client=client_info(request),
            )
        except ServiceError as exc:
            if exc.code in {"mfa_already_enabled", "mfa_not_enabled"}:
                messages.error(request, message_for(exc))
                return see_other("/account/")
            status = form_error(form, exc)
        else:
            # Shown this once, on the answer to the POST: only their hashes are kept.
            return page(request, "pages/backup_codes.html", {"codes": codes})
    enrolment = mfa_services.totp_enrolment_pending(user_id=user.id)
    return _enrolment_page(request, enrolment, form, status=status)


@require_POST
@signed_in
def backup_codes(request):
    """New backup codes for a current code (the old ones stop working), shown once."""
    redirect = _stepped_up(request, "/account/#2fa")
    if redirect:
        return redirect
    user = request.page_user
    form = BackupCodesForm(request.POST, prefix="backup")
    status = 400
    if form.is_valid():
        try:
            codes = mfa_services.backup_codes_regenerate(
                user_id=user.id,
                session_id=user.sid,
                code=form.cleaned_data["code"],
                client=client_info(request),
            )
        except ServiceError as exc:
            status = form_error(form, exc)
        else:
            return page(request, "pages/backup_codes.html", {"codes": codes, "renewed": True})
    return _overview(request, status=status, backup_form=form)


@require_POST
@signed_in
def mfa_disable(request):
    redirect = _stepped_up(request, "/account/#2fa")
    if redirect:
        return redirect
    user = request.page_user
    form = MfaDisableForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            mfa_services.mfa_disable(
                user_id=user.id,
                session_id=user.sid,
                password=form.cleaned_data["password"],
                code=form.cleaned_data["code"],
                client=client_info(request),
            )
        except ServiceError as exc:
            status = form_error(form, exc)
        else:
            messages.success(
                request, _("Two-factor authentication is off; your other sessions are signed out.")
            )
            return see_other("/account/")
    return _overview(request, status=status, disable_form=form)


@require_POST
@signed_in
def google_link(request):
    """To Google's consent page; the callback links that Google account to this user."""
    redirect = _stepped_up(request, "/account/#google")
    if redirect:
        return redirect
    user = request.page_user
    try:
        return social_views.google_link_start(
            request, user_id=user.id, sid=user.sid, respond=see_other
        )
    except ServiceError as exc:
        messages.error(request, message_for(exc))
        return see_other("/account/#google")


@require_POST
@signed_in
def google_unlink(request):
    redirect = _stepped_up(request, "/account/#google")
    if redirect:
        return redirect
    try:
        social_services.google_unlink(user_id=request.page_user.id, client=client_info(request))
    except ServiceError as exc:
        messages.error(request, message_for(exc))
    else:
        messages.success(request, _("Google is unlinked."))
    return see_other("/account/")


@require_http_methods(["GET", "POST"])
@signed_in
def reauth(request):
    """Step-up: the password, or a code when the account has 2FA (as POST /auth/reauth/)."""
    user = request.page_user
    account = User.objects.get(pk=user.id)
    has_mfa = mfa_services.mfa_enabled(account)
    # A passkey proves itself through the page's script (POST /auth/reauth/passkey/); an
    # account whose second factor it is has no password form here, as in the API.
    has_passkey = passkey_services.user_has_passkey(account.pk)
    form_class = ReauthCodeForm if has_mfa else ReauthPasswordForm
    next_url = next_from(request)
    context = {"has_mfa": has_mfa, "has_passkey": has_passkey, "next": next_url}
    if not has_mfa and has_passkey:
        # A posted password is refused, as by POST /auth/reauth/.
        status = 400 if request.method == "POST" else 200
        return page(request, "pages/reauth.html", {**context, "passkey_only": True}, status=status)
    if not has_mfa and not account.has_usable_password():
        # Google only, no 2FA: nothing to prove here; a new Google login is a fresh session.
        return page(request, "pages/reauth.html", {"google_only": True})
    if request.method == "GET":
        form = form_class(initial={"next": next_url})
        return page(request, "pages/reauth.html", {**context, "form": form})
    form = form_class(request.POST)
    status = 400
    if form.is_valid():
        client = client_info(request)
        limit = {"group": "reauth_failed_ip", "key": client.ip or ""}
        try:
            with failures_limited(request, **limit, failures=(InvalidCredentials, InvalidCode)):
                reauth_service.session_reauth(
                    user_id=user.id,
                    session_id=user.sid,
                    client=client,
                    password=form.cleaned_data.get("password"),
                    code=form.cleaned_data.get("code"),
                )
        except ServiceError as exc:
            status = form_error(form, exc)
        else:
            return see_other(next_url)
    return page(request, "pages/reauth.html", {**context, "form": form}, status=status)
