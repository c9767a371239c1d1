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

# The mail queue (mailqueue/): every email is a row written in the caller's transaction and
# sent by `manage.py send_queued_mail`, retried with backoff while the SMTP server is down.
# On: the web process also sends its own rows right after the commit (the console backend
# of `make run` prints at once, without a worker); off in production, where that would put
# the SMTP server's time into the requests (the reset answer's time among them).
AUTHSVC_MAIL_SEND_ON_COMMIT = env_bool("AUTHSVC_MAIL_SEND_ON_COMMIT", DEBUG)
# Attempts before a mail is given up (status `failed`, kept for an operator to retry).
AUTHSVC_MAIL_MAX_ATTEMPTS = env_int("AUTHSVC_MAIL_MAX_ATTEMPTS", 20, minimum=1)
# Delay after the n-th failed attempt: base * 2^(n-1), at most the cap, less up to half at
# random (so a backlog does not hit a recovering server all at once). With the defaults a
# mail is tried for about 14 hours.
AUTHSVC_MAIL_BACKOFF_SECONDS = env_int("AUTHSVC_MAIL_BACKOFF_SECONDS", 30, minimum=1)
AUTHSVC_MAIL_BACKOFF_MAX_SECONDS = env_int("AUTHSVC_MAIL_BACKOFF_MAX_SECONDS", 3600, minimum=1)
# The worker's poll when no wake-up comes (the web processes NOTIFY it after each commit).
AUTHSVC_MAIL_POLL_MS = env_int("AUTHSVC_MAIL_POLL_MS", 1000, minimum=10)
# `purge_expired` deletes sent (and skipped) mail this long after it left, and mail given up
# this long after its last attempt.
AUTHSVC_MAIL_RETENTION_HOURS = env_int("AUTHSVC_MAIL_RETENTION_HOURS", 168, minimum=0)
AUTHSVC_MAIL_FAILED_RETENTION_DAYS = env_int("AUTHSVC_MAIL_FAILED_RETENTION_DAYS", 30, minimum=1)

PASSWORD_RESET_TIMEOUT = env_int("AUTHSVC_PASSWORD_RESET_TTL_SECONDS", 3600, minimum=60)
AUTHSVC_EMAIL_VERIFY_TTL_SECONDS = env_int(
    "AUTHSVC_EMAIL_VERIFY_TTL_SECONDS", 3 * 24 * 3600, minimum=60
)
AUTHSVC_EMAIL_CHANGE_TTL_SECONDS = env_int(
    "AUTHSVC_EMAIL_CHANGE_TTL_SECONDS", 24 * 3600, minimum=60
)
# Sign-in codes by email (POST /auth/login/code/): on wherever mail goes out, like the
# password reset, which already lets whoever reads the mailbox into the account.
AUTHSVC_LOGIN_CODES_ENABLED = env_bool("AUTHSVC_LOGIN_CODES_ENABLED", True)
AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL = env_bool("AUTHSVC_LOGIN_REQUIRES_VERIFIED_EMAIL", False)
# The pages the email links open, under AUTHSVC_FRONTEND_URL: by default the service's own
# (pages/); a separate front end points them at its pages, which POST the values to the API.
AUTHSVC_PASSWORD_RESET_PATH = env_str("AUTHSVC_PASSWORD_RESET_PATH", "password/reset/confirm/")
AUTHSVC_EMAIL_VERIFY_PATH = env_str("AUTHSVC_EMAIL_VERIFY_PATH", "email/verify/")
AUTHSVC_EMAIL_CHANGE_PATH = env_str("AUTHSVC_EMAIL_CHANGE_PATH", "email/change/confirm/")
