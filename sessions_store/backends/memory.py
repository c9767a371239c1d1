"""The in-process store of the embedded default: one process only (e.g. `make run`)."""

import threading
import time

from sessions_store.backends.base import REVOKED, TOMBSTONE, SessionStore, Snapshot


class MemorySessionStore(SessionStore):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, float]] = {}
        self._users: dict[str, set[str]] = {}

    def _live(self, sid: str) -> str | None:
        entry = self._entries.get(sid)
        if entry is None:
            return None
        value, expires = entry
        if expires <= time.monotonic():
            self._entries.pop(sid, None)
            return None
        return value

    def get(self, sid):
        with self._lock:
            value = self._live(sid)
        if value is None:
            return None
        if value == TOMBSTONE:
            return REVOKED
        return Snapshot.from_json(value, sid=sid)

    def put(self, snapshot: Snapshot, ttl_seconds: int) -> bool:
        with self._lock:
            if self._live(snapshot.sid) == TOMBSTONE:
                return False
            self._entries[snapshot.sid] = (snapshot.to_json(), time.monotonic() + ttl_seconds)
            self._users.setdefault(snapshot.user_id, set()).add(snapshot.sid)
            return True

    def touch(self, sid: str, user_id: str, ttl_seconds: int):
        with self._lock:
            value = self._live(sid)
            if value is None or value == TOMBSTONE:
                return None if value is None else REVOKED
            self._entries[sid] = (value, time.monotonic() + ttl_seconds)
            self._users.setdefault(user_id, set()).add(sid)
        return Snapshot.from_json(value, sid=sid)

    def revoke(self, sids: list[str], user_id: str, ttl_seconds: int) -> None:
        with self._lock:
            expires = time.monotonic() + ttl_seconds
            for sid in sids:
                self._entries[sid] = (TOMBSTONE, expires)
            self._users.get(user_id, set()).difference_update(sids)

    def user_sessions(self, user_id: str) -> set[str]:
        with self._lock:
            return set(self._users.get(user_id, ()))

    def ping(self) -> None:
        return None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._users.clear()
