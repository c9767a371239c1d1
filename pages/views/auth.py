"""Sign in (password, then the second factor), register, sign out, and the refresh hop.

Each calls the service the API view calls, under the same rate limits, and issues the same
cookies (`tokens.cookies.set_auth_cookies`): a page login is an API login."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import login_codes, services
from accounts.exceptions import InvalidCredentials, MfaChallengeExpired
from accounts.mfa import services as mfa_services
from accounts.mfa.challenge import Challenge
from accounts.mfa.cookies import CHALLENGE_COOKIE, clear_challenge_cookie, set_challenge_cookie
from authsvc.errors import ServiceError
from authsvc.http import client_info
from authsvc.ratelimit import failures_limited, rate_limit_ip
from pages.auth import page_user, resume_url, signed_in, with_next
from pages.errors import form_error, google_error_message, message_for
from pages.forms import CodeForm, LoginCodeConfirmForm, LoginCodeForm, LoginForm, RegisterForm
from pages.views.common import google_configured, next_from, page, see_other
from tokens import services as token_services
from tokens.cookies import ACCESS_COOKIE, REFRESH_COOKIE, clear_auth_cookies, set_auth_cookies
from tokens.exceptions import TokenInvalid
from tokens.services import IssuedTokens


def _rate_limited(request, group: str) -> ServiceError | None:
    try:
        rate_limit_ip(request, group)
    except ServiceError as exc:
        return exc
    return None


def _signed_in_to(issued: IssuedTokens, next_url: str):
    response = see_other(next_url)
    set_auth_cookies(response, issued)
    return response


@require_GET
def root(request):
    """Where to start; also where Google's callback lands by default
    (AUTHSVC_GOOGLE_RETURN_URL): `?mfa_required=1` goes on to the second step,
    `?error=<code>` to the login page saying why, `?linked=google` to the account."""
    if request.GET.get("mfa_required") == "1":
        return see_other("/login/2fa/")
    error = request.GET.get("error")
    if error:
        messages.error(request, google_error_message(error))
        return see_other("/login/" if page_user(request) is None else "/account/")
    if request.GET.get("linked") == "google":
        messages.success(request, _("Your Google account is linked."))
    return see_other("/account/" if page_user(request) else "/login/")


@require_http_methods(["GET", "POST"])
def login(request):
    next_url = next_from(request)
    if request.method == "GET":
        if page_user(request) is not None:
            return see_other(next_url)
        form = LoginForm(initial={"next": next_url})
        return page(request, "pages/login.html", _login_context(form, next_url))
    form = LoginForm(request.POST)
    status = 400
    if form.is_valid():
        client = client_info(request)
        limit = {"group": "login_failed_ip", "key": client.ip or ""}
        try:
            # The API's limit on failures per IP, its lockout and its audit events.
            with failures_limited(request, **limit, failures=(InvalidCredentials,)):
                outcome = services.user_login(
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                    client=client,
                )
        except ServiceError as exc:
            status = form_error(form, exc)
        else:
            return _first_factor_passed(outcome, next_url)
    return page(request, "pages/login.html", _login_context(form, next_url), status=status)


def _first_factor_passed(outcome: IssuedTokens | Challenge, next_url: str):
    """Signed in, or on to the second step when the account has 2FA."""
    if isinstance(outcome, Challenge):
        response = see_other(_second_step_url(outcome, next_url))
        set_challenge_cookie(response, outcome.token)
        return response
    return _signed_in_to(outcome, next_url)


def _login_context(form, next_url: str) -> dict:
    return {
        "form": form,
        "next": next_url,
        "google": google_configured(),
        "register_url": with_next("/register/", next_url),
        "code_url": with_next("/login/code/", next_url)
        if settings.AUTHSVC_LOGIN_CODES_ENABLED
        else None,
    }


def _login_codes_on() -> None:
    if not settings.AUTHSVC_LOGIN_CODES_ENABLED:
        raise Http404


@require_http_methods(["GET", "POST"])
def login_code(request):
    """Ask for a sign-in code by email. The answer is the code's form, whether or not the
    address has an account (the API's 202): the address stays in the form, out of the URL."""
    _login_codes_on()
    next_url = next_from(request)
    if request.method == "GET":
        form = LoginCodeForm(initial={"next": next_url})
        return page(request, "pages/login_code.html", _code_context(form, next_url))
    form = LoginCodeForm(request.POST)
    status = 400
    if form.is_valid():
        email = form.cleaned_data["email"]
        try:
            # The API's limits per IP and per address, then the same single INSERT.
            login_codes.login_code_request_limit(request, email=email)
            login_codes.login_code_request(email=email, client=client_info(request))
        except ServiceError as exc:
            status = form_error(form, exc)
        else:
            confirm = LoginCodeConfirmForm(initial={"email": email, "next": next_url})
            return page(
                request, "pages/login_code_confirm.html", _confirm_context(confirm, next_url)
            )
    return page(request, "pages/login_code.html", _code_context(form, next_url), status=status)


@require_POST
def login_code_confirm(request):
    _login_codes_on()
    next_url = next_from(request)
    form = LoginCodeConfirmForm(request.POST)
    status = 400
    if form.is_valid():
        client = client_info(request)
        email = form.cleaned_data["email"]
        try:
            # The API's limits on failed codes per IP and per address.
            with login_codes.login_code_confirm_limited(request, email=email, client=client):
                outcome = login_codes.login_code_confirm(
                    email=email, code=form.cleaned_data["code"], client=client
                )
        except ServiceError as exc:
            status = form_error(form, exc)
        else:
            return _first_factor_passed(outcome, next_url)
    elif "email" in form.errors:
        # Only a hand-made POST lacks the address: start again.
        return see_other(with_next("/login/code/", next_url))
    return page(
        request, "pages/login_code_confirm.html", _confirm_context(form, next_url), status=status
    )


def _code_context(form, next_url: str) -> dict:
    return {"form": form, "login_url": with_next("/login/", next_url)}


def _confirm_context(form, next_url: str) -> dict:
    email = form.data.get("email") if form.is_bound else form.initial.get("email")
    return {"form": form, "email": email, "again_url": with_next("/login/code/", next_url)}


def _second_step_url(challenge: Challenge, next_url: str) -> str:
    # The page cannot read the challenge cookie (scoped to /auth/2fa/), so the methods ride
    # along as a hint for what to show; the API decides what completes the challenge.
    methods = mfa_services.mfa_methods(user_id=challenge.user_id)
    query = {"methods": ",".join(methods)}
    if next_url:
        query["next"] = next_url
    return f"/login/2fa/?{urlencode(query)}"


def _second_step_context(request, form) -> dict:
    """What the second step offers: the code form and the passkey, or only what the
    `methods` hint names (no hint, after a Google login: both)."""
    hint = request.GET.get("methods") if request.method == "GET" else None
    methods = set(hint.split(",")) if hint else {mfa_services.TOTP_METHOD, "passkey"}
    return {
        "form": form,
        "next": next_from(request),
        "offer_code": mfa_services.TOTP_METHOD in methods or request.method == "POST",
        "offer_passkey": mfa_services.PASSKEY_METHOD in methods,
    }


@require_GET
def login_2fa(request):
    """The second step: the code form, which posts to /auth/2fa/page/ (the challenge cookie
    is the API's own, scoped to /auth/2fa/, so only a path there receives it; a password
    login on /login/ and a Google login both leave it there), and the passkey button, whose
    script (`pages/static/pages/passkeys.js`) calls /auth/2fa/passkey/ for the same reason."""
    form = CodeForm(initial={"next": next_from(request)})
    return page(request, "pages/login_2fa.html", _second_step_context(request, form))


@require_POST
def login_2fa_submit(request):
    next_url = next_from(request)
    form = CodeForm(request.POST)
    status = 400
    # Every attempt counts, as at POST /auth/2fa/verify/.
    limited = _rate_limited(request, "mfa_verify_ip")
    if form.is_valid() and limited:
        status = form_error(form, limited)
    elif form.is_valid():
        try:
            issued = mfa_services.mfa_login_complete(
                token=request.COOKIES.get(CHALLENGE_COOKIE),
                code=form.cleaned_data["code"],
                client=client_info(request),
            )
        except MfaChallengeExpired as exc:
            # No challenge, or a dead one: back to the password, saying why.
            messages.error(request, message_for(exc))
            response = see_other(with_next("/login/", next_url))
            clear_challenge_cookie(response)
            return response
        except ServiceError as exc:
            status = form_error(form, exc)
        else:
            response = _signed_in_to(issued, next_url)
            clear_challenge_cookie(response)
            return response
    context = _second_step_context(request, form)
    return page(request, "pages/login_2fa.html", context, status=status)


@require_http_methods(["GET", "POST"])
def register(request):
    next_url = next_from(request)
    if request.method == "GET":
        form = RegisterForm(initial={"next": next_url})
        return page(request, "pages/register.html", _register_context(form, next_url))
    form = RegisterForm(request.POST)
    status = 400
    # Every attempt counts, as at POST /auth/register/.
    limited = _rate_limited(request, "register_ip")
    if form.is_valid() and limited:
        status = form_error(form, limited)
    elif form.is_valid():
        try:
            user, issued = services.user_register(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                name=form.cleaned_data["name"],
                client=client_info(request),
            )
        except ServiceError as exc:
            status = form_error(form, exc)
        else:
            if issued is None:
                return page(request, "pages/registered.html", {"email": user.email})
            return _signed_in_to(issued, next_url)
    return page(request, "pages/register.html", _register_context(form, next_url), status=status)


def _register_context(form, next_url: str) -> dict:
    return {
        "form": form,
        "google": google_configured(),
        "login_url": with_next("/login/", next_url),
    }


@require_http_methods(["GET", "POST"])
def logout(request):
    if request.method == "GET":
        return _logout_confirm(request)
    return _logout(request)


@signed_in
def _logout_confirm(request):
    return page(request, "pages/logout.html")


def _logout(request):
    access = request.COOKIES.get(ACCESS_COOKIE)
    if not access:
        # The access cookie expired while the page was open, and the refresh cookie never
        # reaches this path: through the refresh hop, so the session is named and ended.
        return see_other(resume_url("/logout/"))
    # The access cookie names the session, as for POST /auth/logout/.
    token_services.session_logout(
        access_token=access,
        refresh_token=None,
        client=client_info(request),
    )
    response = see_other("/login/")
    clear_auth_cookies(response)
    return response


@require_GET
def resume(request):
    """The refresh hop (under /auth/, where the refresh cookie is sent): a page whose access
    cookie expired sends the browser here; a live refresh token is rotated exactly as
    `POST /auth/refresh/` rotates it, and the browser goes back with both cookies.

    A GET that rotates a token needs no CSRF token because it cannot be forged: the refresh
    cookie is SameSite=Strict, so a cross-site request never carries it, and a request that
    says it comes from another site (`Sec-Fetch-Site`, for AUTHSVC_COOKIE_CROSS_SITE's
    SameSite=None) is not honoured. The worst another site can make happen is a rotation
    whose new cookies land in the user's own browser."""
    next_url = next_from(request)
    raw = request.COOKIES.get(REFRESH_COOKIE)
    login_url = with_next("/login/", next_url)
    if not raw or request.headers.get("Sec-Fetch-Site") == "cross-site":
        return see_other(login_url)
    try:
        rate_limit_ip(request, "refresh_ip")
        issued = token_services.refresh_token_rotate(raw=raw, client=client_info(request))
    except TokenInvalid:
        response = see_other(login_url)
        clear_auth_cookies(response)
        return response
    except ServiceError:
        return see_other(login_url)
    return _signed_in_to(issued, next_url)
