"""The Redis store: one GET per authenticated request.

Keys: `authsvc:s:<sid>` holds the snapshot JSON (or the tombstone) with a TTL;
`authsvc:u:<user id>` is the set of the user's session ids, for "revoke all".
"""

from django_redis import get_redis_connection
from redis.exceptions import RedisError

from sessions_store.backends.base import (
    REVOKED,
    TOMBSTONE,
    SessionStore,
    SessionStoreUnavailable,
    Snapshot,
)

SESSION_KEY = "authsvc:s:{}"
USER_KEY = "authsvc:u:{}"
USER_INDEX_TTL_SECONDS = 60 * 60 * 24 * 31

# Set the snapshot unless a tombstone is there, atomically: a GET-then-SET from Python
# could resurrect a session revoked between the two.
_PUT_UNLESS_REVOKED = """
if redis.call('GET', KEYS[1]) == ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
"""

# A refresh renews the snapshot's TTL and needs the snapshot for the new access token: one
# script, one round trip. A tombstone or a miss is returned untouched.
_TOUCH = """
local value = redis.call('GET', KEYS[1])
if (not value) or value == ARGV[1] then return value end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return value
"""


class RedisSessionStore(SessionStore):
    def __init__(self) -> None:
        self.client = get_redis_connection("default")
        self._put = self.client.register_script(_PUT_UNLESS_REVOKED)
        self._touch = self.client.register_script(_TOUCH)

    def get(self, sid):
        try:
            raw = self.client.get(SESSION_KEY.format(sid))
        except RedisError as exc:
            raise SessionStoreUnavailable(str(exc)) from exc
        return self._decode(raw)

    def touch(self, sid: str, user_id: str, ttl_seconds: int):
        try:
            raw = self._touch(
                keys=[SESSION_KEY.format(sid), USER_KEY.format(user_id)],
                args=[TOMBSTONE, max(1, ttl_seconds), sid, USER_INDEX_TTL_SECONDS],
            )
        except RedisError as exc:
            raise SessionStoreUnavailable(str(exc)) from exc
        return self._decode(raw)

    @staticmethod
    def _decode(raw):
        if raw is None:
            return None
        if raw == TOMBSTONE.encode():
            return REVOKED
        return Snapshot.from_json(raw)

    def put(self, snapshot: Snapshot, ttl_seconds: int) -> bool:
        try:
            stored = self._put(
                keys=[SESSION_KEY.format(snapshot.sid), USER_KEY.format(snapshot.user_id)],
                args=[
                    snapshot.to_json(),
                    TOMBSTONE,
                    max(1, ttl_seconds),
                    snapshot.sid,
                    USER_INDEX_TTL_SECONDS,
                ],
            )
        except RedisError as exc:
            raise SessionStoreUnavailable(str(exc)) from exc
        return bool(stored)

    def revoke(self, sids: list[str], user_id: str, ttl_seconds: int) -> None:
        if not sids:
            return
        try:
            pipe = self.client.pipeline(transaction=True)
            for sid in sids:
                pipe.set(SESSION_KEY.format(sid), TOMBSTONE, ex=max(1, ttl_seconds))
            pipe.srem(USER_KEY.format(user_id), *sids)
            pipe.execute()
        except RedisError as exc:
            raise SessionStoreUnavailable(str(exc)) from exc

    def user_sessions(self, user_id: str) -> set[str]:
        try:
            members = self.client.smembers(USER_KEY.format(user_id))
        except RedisError as exc:
            raise SessionStoreUnavailable(str(exc)) from exc
        return {m.decode() for m in members}

    def ping(self) -> None:
        try:
            self.client.ping()
        except RedisError as exc:
            raise SessionStoreUnavailable(str(exc)) from exc
