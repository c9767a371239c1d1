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
from dataclasses import MISSING, asdict, dataclass, field, fields

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
        return json.dumps(asdict(self), separators=(",", ":"))

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
    def from_json(cls, raw: str | bytes) -> "Snapshot | None":
        """The snapshot stored as `raw`, or None (a cache miss) when it is not one.

        Snapshots outlive deployments: a value written by an older or newer release may
        lack a field or carry one this release does not know. Unknown fields are ignored,
        fields with a default take it, and a missing required field (or a value that is not
        a JSON object) makes it a miss, so the caller reads the database and rewrites it.
        """
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            logger.warning("session store holds a value that is not a snapshot; ignored")
            return None
        names, required = _shape(cls)
        if data.keys() != names:
            if not required <= data.keys():
                return None
            data = {name: data[name] for name in names & data.keys()}
        try:
            return cls(**data)
        except TypeError:
            return None


@functools.cache
def _shape(cls) -> tuple[frozenset[str], frozenset[str]]:
    """The field names of a snapshot class, and those without a default."""
    names = frozenset(f.name for f in fields(cls))
    required = frozenset(
        f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
    )
    return names, required


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
