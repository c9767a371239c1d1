"""Operators' settings: the admin site's second factor, audit retention and the purge (the
admin login's rate limits are in ratelimit.py, its session lifetime in sessions.py)."""

from .base import DEBUG
from .env import env_bool, env_int

# Staff without a confirmed second factor see only the page that tells them to enrol; with a
# factor, the admin login always asks for it (accounts/admin_door.py).
AUTHSVC_ADMIN_REQUIRE_2FA = env_bool("AUTHSVC_ADMIN_REQUIRE_2FA", not DEBUG)

# AuthEvent rows older than this are deleted by `manage.py purge_expired`.
AUTHSVC_AUDIT_RETENTION_DAYS = env_int("AUTHSVC_AUDIT_RETENTION_DAYS", 365, minimum=1)
# Revoked or expired sessions (and their refresh tokens) stay browsable this long.
AUTHSVC_DEAD_SESSION_RETENTION_DAYS = env_int("AUTHSVC_DEAD_SESSION_RETENTION_DAYS", 30, minimum=0)
# Rows per DELETE statement in `purge_expired`: short statements, short locks.
AUTHSVC_PURGE_BATCH_SIZE = env_int("AUTHSVC_PURGE_BATCH_SIZE", 1000, minimum=1)
# Pause between two of those statements, so a purge beside live traffic takes little of it.
AUTHSVC_PURGE_PAUSE_MS = env_int("AUTHSVC_PURGE_PAUSE_MS", 50, minimum=0)
