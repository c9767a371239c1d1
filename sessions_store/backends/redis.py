"""The Redis store: one GET per authenticated request.

Keys: `authsvc:s:<sid>` holds the snapshot (`Snapshot.to_json`, a compact JSON array) or
the tombstone, with a TTL; `authsvc:ui:<user id>` is a hash whose fields are the user's
session ids (a small hash is one listpack, a set of strings a hash table on Redis 7.0:
about 230 bytes for a one-session user instead of 350), for "revoke all". Releases before
it kept a set at `authsvc:u:<user id>`; "revoke all" still reads it (it expires with the
sessions it lists, within AUTHSVC_SESSION_MAX_AGE_SECONDS and a day).

Cluster-safe: each script and each atomic step touches one key, so every key may live on
its own node of a Redis Cluster (no hash tags, and the key names of earlier versions).
What must be atomic is per session (never cache a snapshot over a tombstone); the user's
index only adds to the database's list of live sessions when revoking them all, so it is
written beside the snapshot, not with it, and first: a snapshot is never cached without its
session id in the index.
"""

from django.conf import settings
from django_redis import get_redis_connection
from redis.cluster import RedisCluster

from authsvc.redis_guard import REDIS_ERRORS, redis_allowed, redis_failed, redis_succeeded
from sessions_store.backends.base import (
    REVOKED,
    TOMBSTONE,
    SessionStore,
    SessionStoreUnavailable,
    Snapshot,
)

SESSION_KEY = "authsvc:s:{}"
USER_KEY = "authsvc:ui:{}"
LEGACY_USER_KEY = "authsvc:u:{}"
# The index outlives every session it lists: each login renews it, a refresh does not.
INDEX_MARGIN_SECONDS = 60 * 60 * 24


def user_index_ttl_seconds() -> int:
    return settings.AUTHSVC_SESSION_MAX_AGE_SECONDS + INDEX_MARGIN_SECONDS


# Set the snapshot unless a tombstone is there, atomically: a GET-then-SET from Python
# could resurrect a session revoked between the two.
_PUT_UNLESS_REVOKED = """
if redis.call('GET', KEYS[1]) == ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""

# A refresh renews the snapshot's TTL and needs the snapshot for the new access token: one
# script, one round trip. A tombstone or a miss is returned untouched.
_TOUCH = """
local value = redis.call('GET', KEYS[1])
if (not value) or value == ARGV[1] then return value end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return value
"""


class RedisSessionStore(SessionStore):
    """Every call goes through `_call`: the short socket timeouts of CACHES and the
    process's circuit breaker (authsvc/redis_guard.py) turn a slow or unreachable Redis into
    SessionStoreUnavailable quickly, and callers read PostgreSQL instead."""

    def __init__(self) -> None:
        self.client = get_redis_connection("default")
        self._put = self.client.register_script(_PUT_UNLESS_REVOKED)
        self._touch = self.client.register_script(_TOUCH)

    @staticmethod
    def _call(method, *args, **kwargs):
        if not redis_allowed():
            raise SessionStoreUnavailable("redis skipped: circuit open")
        try:
            result = method(*args, **kwargs)
        except REDIS_ERRORS as exc:
            redis_failed()
            raise SessionStoreUnavailable(str(exc)) from exc
        redis_succeeded()
        return result

    def get(self, sid):
        return self._decode(sid, self._call(self.client.get, SESSION_KEY.format(sid)))

    def touch(self, sid: str, user_id: str, ttl_seconds: int):
        raw = self._call(
            self._touch,
            keys=[SESSION_KEY.format(sid)],
            args=[TOMBSTONE, max(1, ttl_seconds)],
        )
        return self._decode(sid, raw)

    @staticmethod
    def _decode(sid: str, raw):
        if raw is None:
            return None
        if raw == TOMBSTONE.encode():
            return REVOKED
        return Snapshot.from_json(raw, sid=sid)

    def put(self, snapshot: Snapshot, ttl_seconds: int) -> bool:
        index = self.client.pipeline(transaction=False)
        index.hset(USER_KEY.format(snapshot.user_id), snapshot.sid, "")
        index.expire(USER_KEY.format(snapshot.user_id), user_index_ttl_seconds())
        self._call(index.execute)
        stored = self._call(
            self._put,
            keys=[SESSION_KEY.format(snapshot.sid)],
            args=[snapshot.to_json(), TOMBSTONE, max(1, ttl_seconds)],
        )
        if not stored:
            # Revoked: the index lists live sessions only (rare, so a second round trip).
            self._call(self.client.hdel, USER_KEY.format(snapshot.user_id), snapshot.sid)
        return bool(stored)

    def revoke(self, sids: list[str], user_id: str, ttl_seconds: int) -> None:
        if not sids:
            return
        replicas = settings.AUTHSVC_REDIS_REVOCATION_REPLICAS
        if replicas:
            self._tombstones_replicated(sids, ttl_seconds, replicas)
            self._call(self.client.hdel, USER_KEY.format(user_id), *sids)
            return
        # Not a MULTI: on a Cluster the keys live on several nodes. Each SET is idempotent,
        # and a failure raises, so the caller records the revocation as pending.
        pipe = self.client.pipeline(transaction=False)
        for sid in sids:
            pipe.set(SESSION_KEY.format(sid), TOMBSTONE, ex=max(1, ttl_seconds))
        pipe.hdel(USER_KEY.format(user_id), *sids)
        self._call(pipe.execute)

    def _tombstones_replicated(self, sids: list[str], ttl_seconds: int, replicas: int) -> None:
        """Write the tombstones, then WAIT until `replicas` replicas of each master that took
        some have them. A replica promoted by a failover then cannot lack a tombstone while
        holding the snapshot it replaced. Short of that, SessionStoreUnavailable: the caller
        records the revocation as pending in PostgreSQL, which every process reads."""
        # WAIT counts the writes of its own connection: one pipeline per master.
        wait_ms = max(1, settings.AUTHSVC_REDIS_TIMEOUT_MS // 2)
        acked = []
        # Every master first: each tombstone written still ends its session early.
        for client, node_sids in self._by_master(sids):
            pipe = client.pipeline(transaction=False)
            for sid in node_sids:
                pipe.set(SESSION_KEY.format(sid), TOMBSTONE, ex=max(1, ttl_seconds))
            pipe.execute_command("WAIT", replicas, wait_ms)
            acked.append(self._call(pipe.execute)[-1])
        if min(acked) < replicas:
            # Redis answered: not a failure for the breaker, only for this revocation.
            raise SessionStoreUnavailable(f"tombstones reached {min(acked)} of {replicas} replicas")

    def _by_master(self, sids: list[str]):
        if not isinstance(self.client, RedisCluster):
            return [(self.client, sids)]
        groups: dict[str, tuple] = {}
        for sid in sids:
            node = self.client.get_node_from_key(SESSION_KEY.format(sid))
            client = self.client.get_redis_connection(node)
            groups.setdefault(node.name, (client, []))[1].append(sid)
        return list(groups.values())

    def user_sessions(self, user_id: str) -> set[str]:
        # Two keys, perhaps on two Cluster nodes: not a transaction, one round trip.
        pipe = self.client.pipeline(transaction=False)
        pipe.hkeys(USER_KEY.format(user_id))
        pipe.smembers(LEGACY_USER_KEY.format(user_id))
        indexed, legacy = self._call(pipe.execute)
        return {member.decode() for member in (*indexed, *legacy)}

    def ping(self) -> None:
        # Not behind the breaker: /readyz asks Redis itself, and a success closes it.
        try:
            self.client.ping()
        except REDIS_ERRORS as exc:
            redis_failed()
            raise SessionStoreUnavailable(str(exc)) from exc
        redis_succeeded()
