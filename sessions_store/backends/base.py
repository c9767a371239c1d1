"""What every request needs to know about its session, and the store that keeps it.

The store is a cache in front of the `Session` table, shaped like Django's session
backends: the table is the truth, the store answers the hot path in one round trip. A
revoked session leaves a short-lived tombstone so that a request racing with the
revocation cannot write the old snapshot back.
"""

import functools
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime, timedelta

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    sid: str
    user_id: str
    email: str
    name: str
    roles: list[str]
    email_verified: bool
    mfa_enabled: bool
    date_joined: str
    amr: list[str]
    # Unix seconds of the session's last proof of a factor (`Session.auth_time`); 0 in a
    # snapshot cached before the field existed, which the step-up check treats as unknown.
    auth_time: int = 0
    # The session's claims, set by an authorization service (sessions_store.claims); empty
    # in a snapshot cached before the fields existed, as on a session that has none.
    permissions: list[str] = field(default_factory=list)
    attributes: dict = field(default_factory=dict)

    def to_json(self) -> str:
        """The stored value: a JSON array, `[SNAPSHOT_FORMAT, user_id, email, ...]`, the
        fields in order after the session id (which is the key), booleans as 0/1, and the
        trailing fields left out while they hold their defaults. Names would double a
        value's size, and the store keeps one per live session."""
        shape = _shape(type(self))
        values = [getattr(self, name) for name in shape.names[1:]]
        for index in shape.booleans:
            values[index - 1] = int(values[index - 1])
        values[shape.date_joined - 1] = _instant_pack(self.date_joined)
        while len(values) > shape.required - 1 and values[-1] == shape.defaults[len(values)]:
            values.pop()
        return json.dumps([SNAPSHOT_FORMAT, *values], separators=(",", ":"), ensure_ascii=False)

    def profile(self) -> dict:
        """The contract's profile (`GET /auth/self/`), built without a serializer: it is the
        hottest response there is. A test keeps it equal to accounts' ProfileSerializer."""
        return {
            "id": self.user_id,
            "email": self.email,
            "name": self.name,
            "roles": list(self.roles),
            "email_verified": self.email_verified,
            "mfa_enabled": self.mfa_enabled,
            "date_joined": self.date_joined,
        }

    @classmethod
    def from_json(cls, raw: str | bytes, *, sid: str) -> "Snapshot | None":
        """The snapshot of session `sid` stored as `raw`, or None (a cache miss) when it is
        not one.

        Snapshots outlive deployments: a value written by an older or newer release may
        lack a field or carry one this release does not know. Fields are only ever appended
        (a change of meaning or order takes a new SNAPSHOT_FORMAT): values past the known
        ones are ignored, missing trailing fields with a default take it, and a missing
        required field, another format, or a value that is not a JSON array makes it a
        miss, so the caller reads the database and rewrites it. The object form of the
        releases before SNAPSHOT_FORMAT 2 (`{"sid": ..., "user_id": ...}`) is still read.
        """
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            return cls._from_object(data)
        if not isinstance(data, list) or not data or data[0] != SNAPSHOT_FORMAT:
            logger.warning("session store holds a value that is not a snapshot; ignored")
            return None
        shape = _shape(cls)
        values = data[1 : len(shape.names)]
        if len(values) < shape.required - 1:
            return None
        for index in shape.booleans:
            if index <= len(values):
                values[index - 1] = bool(values[index - 1])
        values[shape.date_joined - 1] = _instant_unpack(values[shape.date_joined - 1])
        try:
            return cls(sid, *values)
        except TypeError:
            return None

    @classmethod
    def _from_object(cls, data: dict) -> "Snapshot | None":
        names = set(_shape(cls).names)
        if data.keys() != names:
            if not _shape(cls).required_names <= data.keys():
                return None
            data = {name: data[name] for name in data.keys() & names}
        try:
            return cls(**data)
        except TypeError:
            return None


@dataclass(frozen=True)
class _Shape:
    names: tuple[str, ...]  # in order, the session id first
    required: int  # how many fields have no default (the session id included)
    required_names: frozenset[str]
    defaults: tuple  # each field's default, MISSING for the required ones
    booleans: tuple[int, ...]  # the positions of the bool fields
    date_joined: int  # the position of date_joined


@functools.cache
def _shape(cls) -> _Shape:
    """The layout of a snapshot class: its fields in order, which are required, their
    defaults, and which are booleans."""
    every = fields(cls)
    defaults = tuple(
        f.default if f.default is not MISSING
        else f.default_factory() if f.default_factory is not MISSING
        else MISSING
        for f in every
    )  # fmt: skip
    required = tuple(
        f.name for f, default in zip(every, defaults, strict=True) if default is MISSING
    )
    return _Shape(
        names=tuple(f.name for f in every),
        required=len(required),
        required_names=frozenset(required),
        defaults=defaults,
        booleans=tuple(i for i, f in enumerate(every) if f.type is bool),
        date_joined=[f.name for f in every].index("date_joined"),
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant_pack(value: str):
    """A UTC ISO 8601 instant as integer microseconds since 1970 (16 digits instead of
    32 characters: it keeps a typical value in a smaller allocation), when it comes back
    as the same text; anything else as it is."""
    try:
        instant = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value
    if instant.utcoffset() != timedelta(0):
        return value
    micros = (instant - _EPOCH) // timedelta(microseconds=1)
    return micros if _instant_unpack(micros) == value else value


def _instant_unpack(value):
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return (_EPOCH + timedelta(microseconds=value)).isoformat()
        except OverflowError:
            return None
    return value


# The stored value's layout (`Snapshot.to_json`); 1 was the object form.
SNAPSHOT_FORMAT = 2


class _Revoked:
    def __repr__(self) -> str:
        return "REVOKED"


REVOKED = _Revoked()
TOMBSTONE = "!"


class SessionStoreUnavailable(Exception):
    """The store could not be reached; callers fall back to the database."""


class SessionStore(ABC):
    @abstractmethod
    def get(self, sid: str) -> Snapshot | _Revoked | None:
        """The snapshot, REVOKED for a tombstone, or None when the store does not know."""

    @abstractmethod
    def put(self, snapshot: Snapshot, ttl_seconds: int) -> bool:
        """Store a snapshot unless the session has a tombstone; True if stored."""

    @abstractmethod
    def touch(self, sid: str, user_id: str, ttl_seconds: int) -> Snapshot | _Revoked | None:
        """Give a cached snapshot a new TTL and return it, like `get`, in one round trip."""

    @abstractmethod
    def revoke(self, sids: list[str], user_id: str, ttl_seconds: int) -> None:
        """Replace the sessions' snapshots by tombstones living `ttl_seconds`."""

    @abstractmethod
    def user_sessions(self, user_id: str) -> set[str]:
        """The session ids the store has indexed for a user (for "revoke all")."""

    @abstractmethod
    def ping(self) -> None:
        """Raise SessionStoreUnavailable unless the store answers."""
