from django.urls import path

from accounts import views
from accounts.mfa import views as mfa_views
from accounts.passkeys import views as passkey_views
from accounts.social import views as social_views
from authsvc.routers import Router

router = Router()
router.register("passkeys", passkey_views.PasskeyViewSet, basename="passkey")

urlpatterns = [
    path("csrf/", views.CsrfView.as_view(), name="csrf"),
    path("register/", views.RegisterView.as_view(), name="register"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.LoginCodeRequestView.as_view(), name="login-code"),
    path("login/code/confirm/", views.LoginCodeConfirmView.as_view(), name="login-code-confirm"),
    path("self/", views.SelfView.as_view(), name="self"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password-change"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password/reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("email/verify/", views.EmailVerifyView.as_view(), name="email-verify"),
    path("email/verify/resend/", views.EmailVerifyResendView.as_view(), name="email-verify-resend"),
    path("reauth/", views.ReauthView.as_view(), name="reauth"),
    path("email/change/", views.EmailChangeView.as_view(), name="email-change"),
    path(
        "email/change/confirm/",
        views.EmailChangeConfirmView.as_view(),
        name="email-change-confirm",
    ),
    path("2fa/totp/setup/", mfa_views.TotpSetupView.as_view(), name="mfa-totp-setup"),
    path("2fa/totp/confirm/", mfa_views.TotpConfirmView.as_view(), name="mfa-totp-confirm"),
    path("2fa/verify/", mfa_views.MfaVerifyView.as_view(), name="mfa-verify"),
    path("2fa/disable/", mfa_views.MfaDisableView.as_view(), name="mfa-disable"),
    path("google/", social_views.google_start, name="google-start"),
    path("google/callback/", social_views.google_callback, name="google-callback"),
    path("google/link/", social_views.GoogleLinkView.as_view(), name="google-link"),
    path("2fa/backup-codes/", mfa_views.BackupCodesView.as_view(), name="mfa-backup-codes"),
    path(
        "passkeys/register/options/",
        passkey_views.PasskeyRegisterOptionsView.as_view(),
        name="passkey-register-options",
    ),
    path(
        "passkeys/register/", passkey_views.PasskeyRegisterView.as_view(), name="passkey-register"
    ),
    path(
        "passkeys/login/options/",
        passkey_views.PasskeyLoginOptionsView.as_view(),
        name="passkey-login-options",
    ),
    path("passkeys/login/", passkey_views.PasskeyLoginView.as_view(), name="passkey-login"),
    path(
        "reauth/passkey/options/",
        passkey_views.PasskeyReauthOptionsView.as_view(),
        name="reauth-passkey-options",
    ),
    path("reauth/passkey/", passkey_views.PasskeyReauthView.as_view(), name="reauth-passkey"),
    path(
        "2fa/passkey/options/",
        passkey_views.MfaPasskeyOptionsView.as_view(),
        name="mfa-passkey-options",
    ),
    path("2fa/passkey/", passkey_views.MfaPasskeyView.as_view(), name="mfa-passkey"),
    *router.urls,
]
