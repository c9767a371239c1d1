"""The pages' forms: input shapes only (the services check the values). Each field names
its `autocomplete` so password managers and phones fill it; Django renders `aria-invalid`
and `aria-describedby` (pointing at `<id>_error`) on a field with errors."""

from django import forms
from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.emails import EMAIL_MAX_LENGTH as EMAIL_MAX
from accounts.mfa.serializers import CODE_MAX_LENGTH
from accounts.serializers import NAME_MAX_LENGTH


def _email(autocomplete: str, label=None) -> forms.CharField:
    # A CharField, not an EmailField: the service has the one definition of an address.
    return forms.CharField(
        label=label or _("Email"),
        max_length=EMAIL_MAX,
        widget=forms.EmailInput(
            attrs={"autocomplete": autocomplete, "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


def _password(autocomplete: str, label=None, help_text="") -> forms.CharField:
    return forms.CharField(
        label=label or _("Password"),
        max_length=settings.AUTHSVC_PASSWORD_MAX_LENGTH,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


def _password_help() -> str:
    return gettext("At least %(min)d characters. A long passphrase is best.") % {
        "min": settings.AUTHSVC_PASSWORD_MIN_LENGTH
    }


def _new_password(label=None) -> forms.CharField:
    return _password(
        "new-password",
        label=label or _("New password"),
        # Lazy: translated (and the setting read) when the page renders, not at import.
        help_text=lazy(_password_help, str)(),
    )


def _code(label=None) -> forms.CharField:
    return forms.CharField(
        label=label or _("Code"),
        max_length=CODE_MAX_LENGTH,
        help_text=_("The 6-digit code from your authenticator app, or a backup code."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )


class NextForm(forms.Form):
    next = forms.CharField(required=False, max_length=2048, widget=forms.HiddenInput)


class LoginForm(NextForm):
    email = _email("username")
    password = _password("current-password")


class CodeForm(NextForm):
    code = _code()


class LoginCodeForm(NextForm):
    email = _email("username")


class LoginCodeConfirmForm(NextForm):
    email = forms.CharField(max_length=EMAIL_MAX, widget=forms.HiddenInput)
    code = forms.CharField(
        label=_("Sign-in code"),
        max_length=16,
        help_text=_("The 6-digit code we emailed you. It works for 10 minutes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 -]*"}
        ),
    )


class RegisterForm(NextForm):
    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = _email("username")
    password = _new_password(label=_("Password"))


class PasswordResetForm(forms.Form):
    email = _email("username")


class PasswordResetConfirmForm(forms.Form):
    uid = forms.CharField(max_length=64, widget=forms.HiddenInput)
    token = forms.CharField(max_length=128, widget=forms.HiddenInput)
    new_password = _new_password()


class KeyForm(forms.Form):
    key = forms.CharField(max_length=1024, widget=forms.HiddenInput)


class ProfileForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class EmailChangeForm(forms.Form):
    new_email = _email("email", label=_("New email"))
    password = _password("current-password", label=_("Current password"))


class PasswordChangeForm(forms.Form):
    current_password = _password("current-password", label=_("Current password"))
    new_password = _new_password()


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=CODE_MAX_LENGTH,
        help_text=_("The 6-digit code your authenticator app shows now."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )


class BackupCodesForm(forms.Form):
    code = _code()


class MfaDisableForm(forms.Form):
    password = _password("current-password", label=_("Current password"))
    code = _code()


class ReauthPasswordForm(NextForm):
    password = _password("current-password")


class ReauthCodeForm(NextForm):
    code = _code()
