"""Outgoing email (password reset, email verification) and the self-service policies."""

from .base import DEBUG
from .env import env_bool, env_int, env_str

EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "authsvc <no-reply@localhost>")

AUTHSVC_SERVICE_NAME = env_str("AUTHSVC_SERVICE_NAME", "authsvc")
# Mail goes out on a background thread so a reset request takes the same time whether or
# not an email is sent (no user enumeration by timing).
AUTHSVC_EMAIL_ASYNC = env_bool("AUTHSVC_EMAIL_ASYNC", True)

PASSWORD_RESET_TIMEOUT = env_int("AUTHSVC_PASSWORD_RESET_TTL_SECONDS", 3600, minimum=60)
AUTHSVC_EMAIL_VERIFY_TTL_SECONDS = env_int(
    "AUTHSVC_EMAIL_VERIFY_TTL_SECONDS", 3 * 24 * 3600, minimum=60
)
AUTHSVC_EMAIL_CHANGE_TTL_SECONDS = env_int(
    "AUTHSVC_EMAIL_CHANGE_TTL_SECONDS", 24 * 3600, minimum=60
)
AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL = env_bool("AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL", False)
# Front-end pages the email links open; they POST the values to the API.
AUTHSVC_PASSWORD_RESET_PATH = env_str("AUTHSVC_PASSWORD_RESET_PATH", "reset-password")
AUTHSVC_EMAIL_VERIFY_PATH = env_str("AUTHSVC_EMAIL_VERIFY_PATH", "verify-email")
AUTHSVC_EMAIL_CHANGE_PATH = env_str("AUTHSVC_EMAIL_CHANGE_PATH", "confirm-email-change")
