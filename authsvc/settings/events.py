"""Events for other services: the outbox and its relay to a Redis Stream (audit/)."""

from .env import env_bool, env_int, env_str
from .sessions import REDIS_URL

# Outbox rows are written only where there is a stream to publish them to (`make run` has
# no Redis, so nothing would ever drain them).
AUTHSVC_EVENTS_ENABLED = env_bool("AUTHSVC_EVENTS_ENABLED", bool(REDIS_URL))
AUTHSVC_EVENTS_STREAM = env_str("AUTHSVC_EVENTS_STREAM", "authsvc:events")
# XADD ... MAXLEN ~ this: consumers further behind than this many entries lose the oldest
# (the verifier's feed mode then falls back to introspection).
AUTHSVC_EVENTS_STREAM_MAXLEN = env_int("AUTHSVC_EVENTS_STREAM_MAXLEN", 100_000, minimum=1)
# Rows per XADD pipeline and per "mark sent" UPDATE.
AUTHSVC_EVENTS_RELAY_BATCH_SIZE = env_int("AUTHSVC_EVENTS_RELAY_BATCH_SIZE", 500, minimum=1)
# The relay's poll when no wake-up comes (rows are normally announced by the fast path).
AUTHSVC_EVENTS_RELAY_POLL_MS = env_int("AUTHSVC_EVENTS_RELAY_POLL_MS", 1000, minimum=10)
# Retry delay while Redis or PostgreSQL is down: doubling from the first to the second.
AUTHSVC_EVENTS_RELAY_BACKOFF_MS = env_int("AUTHSVC_EVENTS_RELAY_BACKOFF_MS", 100, minimum=1)
AUTHSVC_EVENTS_RELAY_BACKOFF_MAX_MS = env_int(
    "AUTHSVC_EVENTS_RELAY_BACKOFF_MAX_MS", 5000, minimum=1
)
# The relay's Redis timeouts (connect and read); not on any request's path.
AUTHSVC_EVENTS_REDIS_TIMEOUT_MS = env_int("AUTHSVC_EVENTS_REDIS_TIMEOUT_MS", 2000, minimum=1)
# After a commit, a thread of the web process publishes (or wakes the relay) at once.
AUTHSVC_EVENTS_FAST_PATH = env_bool("AUTHSVC_EVENTS_FAST_PATH", True)
# Published outbox rows are deleted by `purge_expired` this long after publication.
AUTHSVC_EVENTS_OUTBOX_RETENTION_HOURS = env_int(
    "AUTHSVC_EVENTS_OUTBOX_RETENTION_HOURS", 24, minimum=0
)
