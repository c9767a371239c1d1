"""Every rate limit and lockout, in one place. Counters live in the shared cache (Redis in
production), so all workers count together."""

from .env import env_bool, env_int, env_str

# Off only for load tests of the bare endpoints (`make bench`); `check --deploy` warns.
RATELIMIT_ENABLE = env_bool("AUTHSVC_RATE_LIMITS_ENABLED", True)
# django-ratelimit counts in this cache (settings/sessions.py): Redis with a per-process
# fallback, so an unreachable Redis neither fails the request nor lifts the limits.
RATELIMIT_USE_CACHE = "ratelimit"

# "count/period" as authsvc.ratelimit reads it (period s, m, h or d, optionally with a
# number: "5/15m").
AUTHSVC_RATE_LIMITS = {
    # Failed logins per client IP (credential stuffing from one address); the per-account
    # side is the lockout below.
    "login_failed_ip": env_str("AUTHSVC_RATE_LOGIN_FAILED_IP", "10/m"),
    "register_ip": env_str("AUTHSVC_RATE_REGISTER_IP", "10/h"),
    "refresh_ip": env_str("AUTHSVC_RATE_REFRESH_IP", "300/m"),
    "refresh_session": env_str("AUTHSVC_RATE_REFRESH_SESSION", "30/m"),
    "mfa_verify_ip": env_str("AUTHSVC_RATE_MFA_VERIFY_IP", "30/m"),
    "password_reset_ip": env_str("AUTHSVC_RATE_PASSWORD_RESET_IP", "10/h"),
    "password_reset_email": env_str("AUTHSVC_RATE_PASSWORD_RESET_EMAIL", "3/h"),
    "password_reset_confirm_ip": env_str("AUTHSVC_RATE_PASSWORD_RESET_CONFIRM_IP", "20/h"),
    # Sign-in codes by email (accounts/login_codes.py): requests per IP and per address
    # (each mails the address), failed confirmations per IP and per address. The per-address
    # failure limit is what bounds guessing across codes: each code dies after 5 tries, but
    # a new one can be asked for; at 20 a day a year of guessing hits one code in about 140.
    "login_code_ip": env_str("AUTHSVC_RATE_LOGIN_CODE_IP", "10/h"),
    "login_code_email": env_str("AUTHSVC_RATE_LOGIN_CODE_EMAIL", "5/h"),
    "login_code_failed_ip": env_str("AUTHSVC_RATE_LOGIN_CODE_FAILED_IP", "10/m"),
    "login_code_failed_email": env_str("AUTHSVC_RATE_LOGIN_CODE_FAILED_EMAIL", "20/d"),
    "email_verify_resend_user": env_str("AUTHSVC_RATE_EMAIL_VERIFY_RESEND", "3/h"),
    "email_verify_ip": env_str("AUTHSVC_RATE_EMAIL_VERIFY_IP", "30/h"),
    # Failed reauths (wrong password or code) per client IP; the per-account side is the
    # lockout and the 2FA throttle, as for logins.
    "reauth_failed_ip": env_str("AUTHSVC_RATE_REAUTH_FAILED_IP", "10/m"),
    # Email change requests per user (each mails two addresses), confirmations per IP.
    "email_change_user": env_str("AUTHSVC_RATE_EMAIL_CHANGE_USER", "5/h"),
    "email_change_confirm_ip": env_str("AUTHSVC_RATE_EMAIL_CHANGE_CONFIRM_IP", "30/h"),
    "google_callback_ip": env_str("AUTHSVC_RATE_GOOGLE_CALLBACK_IP", "30/m"),
    # Passkey sign-ins per client IP: the options and the answer each count (so 30/m is
    # 15 sign-ins a minute); registration and step-up options per user (each stores a
    # challenge).
    "passkey_login_ip": env_str("AUTHSVC_RATE_PASSKEY_LOGIN_IP", "30/m"),
    "passkey_options_user": env_str("AUTHSVC_RATE_PASSKEY_OPTIONS_USER", "20/h"),
    # Client-credentials token requests (POST /auth/token/): every request per client IP,
    # and per client once its secret checked out (so nobody can use up a client's budget).
    "service_token_ip": env_str("AUTHSVC_RATE_SERVICE_TOKEN_IP", "120/m"),
    "service_token_client": env_str("AUTHSVC_RATE_SERVICE_TOKEN_CLIENT", "60/m"),
    # Failed Django admin logins per client IP and per username.
    "admin_login_ip": env_str("AUTHSVC_RATE_ADMIN_LOGIN_IP", "20/h"),
    "admin_login_username": env_str("AUTHSVC_RATE_ADMIN_LOGIN_USERNAME", "5/15m"),
}

# Account lockout (accounts/lockout.py): this many wrong passwords in a row are free, then
# each further try waits 2, 4, 8 ... seconds, up to the ceiling. With the defaults an
# account takes at most 17 wrong passwords in its first hour and 4 an hour after that,
# well under NIST SP 800-63B's 100.
AUTHSVC_LOGIN_FREE_FAILURES = env_int("AUTHSVC_LOGIN_FREE_FAILURES", 5, minimum=1)
AUTHSVC_LOGIN_MAX_DELAY_SECONDS = env_int("AUTHSVC_LOGIN_MAX_DELAY_SECONDS", 900, minimum=1)
