"""Who a verified token speaks for: a user's session, or a service client."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Principal:
    token_type: str  # "access" (a user's session) or "service" (a service client)
    subject: str  # the user's UUID, or the client id
    session_id: str | None  # `sid`, for a user's access token
    roles: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()  # a service token's `scope`, split on spaces
    expires_at: float = 0.0
    claims: Mapping = field(default_factory=lambda: MappingProxyType({}), repr=False)
    # Set by the liveness check that vouched for it: "signature", "introspection" or "feed".
    checked_by: str = "signature"

    # What Django, DRF and most frameworks ask of `request.user`.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_service(self) -> bool:
        return self.token_type == "service"  # noqa: S105 - a claim value

    @property
    def user_id(self) -> str | None:
        return None if self.is_service else self.subject

    @property
    def client_id(self) -> str | None:
        return self.subject if self.is_service else None

    @property
    def pk(self) -> str:
        return self.subject

    @classmethod
    def from_claims(cls, claims: dict, *, live: dict | None = None, checked_by: str):
        """The principal of verified `claims`; `live` (an introspection answer) overrides
        what may have changed since the token was signed: roles, permissions, scope."""
        current = {**claims, **{k: v for k, v in (live or {}).items() if k in _LIVE_FIELDS}}
        return cls(
            token_type=claims["token_type"],
            subject=claims["sub"],
            session_id=claims.get("sid"),
            roles=_names(current.get("roles")),
            permissions=_names(current.get("permissions")),
            scopes=frozenset(str(current.get("scope") or "").split()),
            expires_at=float(claims["exp"]),
            claims=MappingProxyType(dict(claims)),
            checked_by=checked_by,
        )


_LIVE_FIELDS = frozenset({"roles", "permissions", "scope"})


def _names(value) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(name for name in value if isinstance(name, str))
