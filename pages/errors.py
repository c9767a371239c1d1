"""What the pages say when a service refuses: the same exceptions the API turns into its
JSON `error` codes, here as sentences in the page's language, next to the field they
concern when the service names one."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from authsvc.errors import KIND_STATUS, ServiceError


def message_for(exc: ServiceError) -> str:
    """One sentence for a refusal, by its stable code."""
    code = exc.code
    if code == "rate_limited":
        seconds = getattr(exc, "retry_after", 60)
        return ngettext(
            "Too many attempts. Try again in %(seconds)d second.",
            "Too many attempts. Try again in %(seconds)d seconds.",
            seconds,
        ) % {"seconds": seconds}
    messages = {
        "invalid_credentials": _("The email or password is incorrect."),
        "account_disabled": _("This account is disabled."),
        "email_not_verified": _(
            "Verify your email address before signing in: follow the link we emailed you."
        ),
        "email_taken": _("An account with this email already exists."),
        "invalid_token": _("This link is invalid, has expired or was already used."),
        "invalid_code": _("The code is invalid or has already been used."),
        "mfa_challenge_expired": _(
            "The two-factor step expired or was already completed; sign in again."
        ),
        "mfa_already_enabled": _("Two-factor authentication is already on."),
        "mfa_not_enabled": _("Two-factor authentication is not on."),
        "reauth_required": _("Confirm it is you first."),
        "last_login_method": _("This is the account's only way to sign in: set a password first."),
        "not_found": _("Not found."),
        "not_configured": _("This sign-in method is not configured on this server."),
        "google_already_linked": _("A Google account is already linked to this account."),
        "unavailable": _("The service cannot complete this right now; try again shortly."),
    }
    return messages.get(code, _("The request could not be completed."))


def form_error(form, exc: ServiceError) -> int:
    """Put a service's refusal on the form: on the fields it names, else above the form.
    Returns the page's status: the API's for the same refusal (429 for a limit...)."""
    fields = exc.fields or {}
    placed = False
    for name, errors in fields.items():
        if name in form.fields:
            for error in errors:
                form.add_error(name, error)
            placed = True
    if not placed and exc.code == "invalid_code" and "code" in form.fields:
        # A wrong code can only be the code field's fault.
        form.add_error("code", message_for(exc))
        placed = True
    if not placed:
        form.add_error(None, message_for(exc))
    # A wrong password or code re-shows the form: 400, not the API's 401 (which names an
    # authentication scheme a browser page has no use for).
    return 400 if exc.kind == "unauthenticated" else KIND_STATUS.get(exc.kind, 400)


def google_error_message(code: str) -> str:
    """The sentence for the `?error=<code>` Google's callback lands with."""
    messages = {
        "account_exists": _(
            "An account with this email exists: sign in with your password, then link Google "
            "from your account."
        ),
        "email_not_verified": _("Google has not verified this address."),
        "account_disabled": _("This account is disabled."),
        "google_account_in_use": _("This Google account is linked to another account."),
        "not_authenticated": _("Your session ended before Google answered; sign in again."),
        "access_denied": _("The sign-in was cancelled at Google."),
        "invalid_state": _("The sign-in could not be matched to this browser; start again."),
        "google_error": _("Google did not complete the sign-in."),
        "google_unavailable": _("Google could not be reached; try again."),
    }
    return messages.get(code, _("The sign-in with Google did not complete."))
