"""The accounts API's views, by flow; `accounts/urls.py` routes them."""

from accounts.views.auth import CsrfView, LoginView, RegisterView, SelfView
from accounts.views.email import (
    EmailChangeConfirmView,
    EmailChangeView,
    EmailVerifyResendView,
    EmailVerifyView,
)
from accounts.views.login_codes import LoginCodeConfirmView, LoginCodeRequestView
from accounts.views.passwords import PasswordChangeView, PasswordResetConfirmView, PasswordResetView
from accounts.views.reauth import ReauthView

__all__ = [
    "CsrfView",
    "EmailChangeConfirmView",
    "EmailChangeView",
    "EmailVerifyResendView",
    "EmailVerifyView",
    "LoginCodeConfirmView",
    "LoginCodeRequestView",
    "LoginView",
    "PasswordChangeView",
    "PasswordResetConfirmView",
    "PasswordResetView",
    "ReauthView",
    "RegisterView",
    "SelfView",
]
