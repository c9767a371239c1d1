"""Operators' settings: audit retention, the purge, and the admin login's rate limits."""

from .email import AUTHSVC_RATE_LIMITS as _RATE_LIMITS
from .env import env_int, env_str

# AuthEvent rows older than this are deleted by `manage.py purge_expired`.
AUTHSVC_AUDIT_RETENTION_DAYS = env_int("AUTHSVC_AUDIT_RETENTION_DAYS", 365, minimum=1)
# Revoked or expired sessions (and their refresh tokens) stay browsable this long.
AUTHSVC_DEAD_SESSION_RETENTION_DAYS = env_int("AUTHSVC_DEAD_SESSION_RETENTION_DAYS", 30, minimum=0)
# Rows per DELETE statement in `purge_expired`: short statements, short locks.
AUTHSVC_PURGE_BATCH_SIZE = env_int("AUTHSVC_PURGE_BATCH_SIZE", 1000, minimum=1)

# Failed admin logins, per client IP and per username ("count/period").
AUTHSVC_RATE_LIMITS = {
    **_RATE_LIMITS,
    "admin_login_ip": env_str("AUTHSVC_RATE_ADMIN_LOGIN_IP", "20/h"),
    "admin_login_username": env_str("AUTHSVC_RATE_ADMIN_LOGIN_USERNAME", "5/15m"),
}
