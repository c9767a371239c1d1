"""The pages for people (API.md, "Pages served by authsvc"). HTML, not API: the OpenAPI
document leaves this namespace out (tests/authsvc/test_openapi.py)."""

from django.urls import path
from django.views.i18n import set_language

from pages.views import account, auth, links

app_name = "pages"

urlpatterns = [
    path("", auth.root, name="root"),
    path("login/", auth.login, name="login"),
    path("login/2fa/", auth.login_2fa, name="login-2fa"),
    path("login/code/", auth.login_code, name="login-code"),
    path("login/code/confirm/", auth.login_code_confirm, name="login-code-confirm"),
    # Under /auth/2fa/, where the API's challenge cookie is sent (pages/views/auth.py).
    path("auth/2fa/page/", auth.login_2fa_submit, name="login-2fa-submit"),
    path("register/", auth.register, name="register"),
    path("logout/", auth.logout, name="logout"),
    # Under /auth/ because the refresh cookie is scoped there (pages/auth.py).
    path("auth/resume/", auth.resume, name="resume"),
    path("password/reset/", links.password_reset, name="password-reset"),
    path("password/reset/confirm/", links.password_reset_confirm, name="password-reset-confirm"),
    path("email/verify/", links.email_verify, name="email-verify"),
    path("email/change/confirm/", links.email_change_confirm, name="email-change-confirm"),
    path("account/", account.overview, name="account"),
    path("account/profile/", account.profile, name="account-profile"),
    path("account/email/", account.email_change, name="account-email"),
    path("account/email/resend/", account.email_resend, name="account-email-resend"),
    path("account/password/", account.password_change, name="account-password"),
    path("account/sessions/<uuid:sid>/revoke/", account.session_revoke, name="account-session"),
    path("account/sessions/revoke-all/", account.sessions_revoke_all, name="account-sessions"),
    path("account/2fa/setup/", account.totp_setup, name="account-2fa-setup"),
    path("account/2fa/confirm/", account.totp_confirm, name="account-2fa-confirm"),
    path("account/2fa/backup-codes/", account.backup_codes, name="account-backup-codes"),
    path("account/2fa/disable/", account.mfa_disable, name="account-2fa-disable"),
    path(
        "account/passkeys/<uuid:passkey_id>/rename/",
        account.passkey_rename,
        name="account-passkey-rename",
    ),
    path(
        "account/passkeys/<uuid:passkey_id>/delete/",
        account.passkey_delete,
        name="account-passkey-delete",
    ),
    path("account/google/link/", account.google_link, name="account-google-link"),
    path("account/google/unlink/", account.google_unlink, name="account-google-unlink"),
    path("account/reauth/", account.reauth, name="account-reauth"),
    # Django's own switcher view: POST with the CSRF token; `next` only to this host.
    path("i18n/setlang/", set_language, name="set-language"),
]
