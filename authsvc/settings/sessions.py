"""The session store and the cache: Redis when REDIS_URL is set, in-process otherwise."""

from authsvc.redis_url import redis_caches, redis_target

from .env import env_int, env_str

# One server, a Sentinel-managed master or a Cluster (authsvc/redis_url.py has the forms).
REDIS_URL = env_str("REDIS_URL") or None
# Refuse a malformed URL at start-up, not at the first request.
REDIS_KIND = redis_target(REDIS_URL).kind if REDIS_URL else None

# Redis is the fast path, PostgreSQL the truth: a slow or partitioned Redis must cost a
# request a short wait, not a worker (authsvc/redis_guard.py). Connect and read timeouts:
AUTHSVC_REDIS_TIMEOUT_MS = env_int("AUTHSVC_REDIS_TIMEOUT_MS", 250, minimum=1)
# After a failure each process skips Redis this long before one request probes it again.
AUTHSVC_REDIS_BREAKER_SECONDS = env_int("AUTHSVC_REDIS_BREAKER_SECONDS", 5, minimum=1)
# With Redis replicas (Sentinel, Cluster): how many must have a revocation's tombstones
# before it counts as written (WAIT); short of that it is recorded in PostgreSQL as
# pending, so a failover to a lagging replica cannot bring a revoked session back.
AUTHSVC_REDIS_REVOCATION_REPLICAS = env_int("AUTHSVC_REDIS_REVOCATION_REPLICAS", 0, minimum=0)
# How often each process reads the revocations that could not reach Redis
# (sessions_store/revocations.py): the longest a revocation made during an outage can be
# missed by another process that still trusts a cached snapshot.
AUTHSVC_REVOCATION_SYNC_SECONDS = env_int("AUTHSVC_REVOCATION_SYNC_SECONDS", 1, minimum=0)

if REDIS_URL:
    CACHES = redis_caches(REDIS_URL, timeout_ms=AUTHSVC_REDIS_TIMEOUT_MS)
    AUTHSVC_SESSION_STORE = "sessions_store.backends.redis.RedisSessionStore"
else:
    # One process only: every gunicorn worker would have its own store.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "ratelimit",
        },
    }
    AUTHSVC_SESSION_STORE = "sessions_store.backends.memory.MemorySessionStore"

AUTHSVC_SESSION_STORE = env_str("AUTHSVC_SESSION_STORE", AUTHSVC_SESSION_STORE)

# An admin site login lasts this long, from the login (not renewed by use). It is a
# `sessions_store.Session` row like any login, so every revocation ends it too.
AUTHSVC_ADMIN_SESSION_TTL_SECONDS = env_int(
    "AUTHSVC_ADMIN_SESSION_TTL_SECONDS", 8 * 3600, minimum=300
)

# Django's own sessions serve only the admin, for its login, CSRF and messages. Signed cookies
# keep them out of the database: what makes one count is the sessions_store sid inside it,
# checked on every admin request, so a copy of the cookie dies with that session.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_NAME = "admin_sessionid"
SESSION_COOKIE_PATH = "/admin/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_AGE = AUTHSVC_ADMIN_SESSION_TTL_SECONDS
