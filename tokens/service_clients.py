"""Service clients: the credentials other back-end services hold (OAuth 2.0 client
credentials), and every operator action on them. The admin site and the management
commands call these functions; each action is audited.

A secret is 256 random bits, shown once and stored as its SHA-256. A slow password hash
(argon2id) protects what people choose, which can be guessed; nothing guesses 256 random
bits, so a fast hash loses nothing, and it keeps `POST /auth/token/` and the introspection
hot path free of a 50 ms hash per call. Comparisons are constant-time, and an unknown
client id is compared against a dummy hash so that it takes as long as a wrong secret.

Lookups go through a per-process cache of `CLIENT_CACHE_SECONDS`: introspection is on
other services' hot path and authenticates its caller on every call. So a disable or a
rotation takes effect at once in the process that made it and within that many seconds in
every other process (documented in docs/services.md).
"""

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from audit import events
from authsvc import clock
from authsvc.errors import ServiceError
from tokens.conf import token_settings
from tokens.exceptions import InvalidClient
from tokens.models import ServiceClient

CLIENT_CACHE_SECONDS = 2.0
# `last_used_at` is written at most this often per client and process: a hot client would
# otherwise add a write to every call.
LAST_USED_RESOLUTION_SECONDS = 60.0
SECRET_BYTES = 32
MAX_SCOPES = 32
MAX_AUDIENCES = 16
# RFC 6749 §3.3 scope-token characters, shorter than it allows.
SCOPE_PATTERN = re.compile(r"[!#-\[\]-~]{1,64}")
AUDIENCE_PATTERN = re.compile(r"[!#-\[\]-~]{1,200}")
NAME_MAX_LENGTH = 150
# The scopes authsvc's own service doors check.
SCOPE_INTROSPECT = "introspect"
SCOPE_SESSION_CLAIMS = "sessions:claims"
_DUMMY_HASH = hashlib.sha256(b"no such client").hexdigest()


class ServiceClientNameTaken(ServiceError):
    code = "invalid_request"
    kind = "conflict"

    def __init__(self):
        super().__init__(fields={"name": ["A service client with this name exists."]})


class ServiceClientNotFound(ServiceError):
    code = "not_found"
    kind = "not_found"


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """What authenticating and verifying need of a client, cached per process."""

    client_id: str
    name: str
    secret_hash: str
    scopes: frozenset[str]
    audiences: tuple[str, ...]
    is_active: bool
    secret_version: int

    @classmethod
    def of(cls, client: ServiceClient) -> "ClientRecord":
        return cls(
            client_id=client.client_id,
            name=client.name,
            secret_hash=client.secret_hash,
            scopes=frozenset(client.scopes),
            audiences=tuple(client.audiences),
            is_active=client.is_active,
            secret_version=client.secret_version,
        )

    def may_address(self, audience: str) -> bool:
        return audience == token_settings.audience or audience in self.audiences


_cache: dict[str, tuple[float, ClientRecord | None]] = {}
_last_used: dict[str, float] = {}
_lock = threading.Lock()


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def _new_client_id() -> str:
    return "svc_" + secrets.token_urlsafe(12)


def clean_scopes(values) -> list[str]:
    return _clean_list(values, "scopes", SCOPE_PATTERN, MAX_SCOPES)


def clean_audiences(values) -> list[str]:
    return _clean_list(values, "audiences", AUDIENCE_PATTERN, MAX_AUDIENCES)


def _clean_list(values, field: str, pattern: re.Pattern, limit: int) -> list[str]:
    cleaned: list[str] = []
    for value in values or []:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ServiceError(fields={field: [f"{value!r} is not a valid value."]})
        if value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > limit:
        raise ServiceError(fields={field: [f"At most {limit}."]})
    return cleaned


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise ServiceError(fields={"name": [f"Give a name of 1 to {NAME_MAX_LENGTH} characters."]})
    return name


def service_client_create(
    *, name: str, scopes, audiences, by: str | None = None
) -> tuple[ServiceClient, str]:
    """A new active client and its secret, which is never retrievable again."""
    secret = _new_secret()
    now = clock.now()
    client = ServiceClient(
        client_id=_new_client_id(),
        name=_clean_name(name),
        secret_hash=secret_hash(secret),
        scopes=clean_scopes(scopes),
        audiences=clean_audiences(audiences),
        created_at=now,
        secret_rotated_at=now,
    )
    try:
        with transaction.atomic():
            client.save(force_insert=True)
    except IntegrityError as exc:
        raise ServiceClientNameTaken() from exc
    events.record(
        "service_client_created",
        client_id=client.client_id,
        name=client.name,
        scopes=client.scopes,
        audiences=client.audiences,
        by=by,
    )
    return client, secret


def service_client_update(
    *, client_id: str, scopes=None, audiences=None, by: str | None = None
) -> ServiceClient:
    """Change what a client may ask for; its tokens lose removed scopes within
    CLIENT_CACHE_SECONDS (verification intersects a token's scopes with the client's)."""
    with transaction.atomic():
        client = _locked(client_id)
        if scopes is not None:
            client.scopes = clean_scopes(scopes)
        if audiences is not None:
            client.audiences = clean_audiences(audiences)
        client.save(update_fields=["scopes", "audiences"])
    _forget(client_id)
    events.record(
        "service_client_updated",
        client_id=client_id,
        scopes=client.scopes,
        audiences=client.audiences,
        by=by,
    )
    return client


def service_client_rotate_secret(*, client_id: str, by: str | None = None) -> str:
    """A new secret; the old one and every token issued under it stop working."""
    secret = _new_secret()
    with transaction.atomic():
        client = _locked(client_id)
        client.secret_hash = secret_hash(secret)
        client.secret_version += 1
        client.secret_rotated_at = clock.now()
        client.save(update_fields=["secret_hash", "secret_version", "secret_rotated_at"])
    _forget(client_id)
    events.record("service_client_secret_rotated", client_id=client_id, by=by)
    return secret


def service_client_disable(*, client_id: str, by: str | None = None) -> bool:
    """Refuse the client's secret and every token it holds; False if already disabled."""
    return _set_active(client_id, active=False, by=by)


def service_client_enable(*, client_id: str, by: str | None = None) -> bool:
    return _set_active(client_id, active=True, by=by)


def _set_active(client_id: str, *, active: bool, by: str | None) -> bool:
    with transaction.atomic():
        client = _locked(client_id)
        if client.is_active == active:
            return False
        client.is_active = active
        client.disabled_at = None if active else clock.now()
        client.save(update_fields=["is_active", "disabled_at"])
    _forget(client_id)
    events.record(
        "service_client_enabled" if active else "service_client_disabled",
        client_id=client_id,
        by=by,
    )
    return True


def _locked(client_id: str) -> ServiceClient:
    try:
        return ServiceClient.objects.select_for_update().get(client_id=client_id)
    except ServiceClient.DoesNotExist as exc:
        raise ServiceClientNotFound() from exc


def service_client_authenticate(*, client_id: str, secret: str) -> ClientRecord:
    """The active client whose secret this is, or InvalidClient (the same for an unknown
    id, a wrong secret and a disabled client)."""
    record = client_record(client_id)
    expected = record.secret_hash if record else _DUMMY_HASH
    matches = hmac.compare_digest(secret_hash(secret), expected)
    if record is None or not matches or not record.is_active:
        raise InvalidClient()
    _touch(record.client_id)
    return record


def client_record(client_id: str) -> ClientRecord | None:
    """The client (active or not) by its id, from this process's short cache."""
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
        return None
    now = time.monotonic()
    cached = _cache.get(client_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    client = ServiceClient.objects.filter(client_id=client_id).first()
    record = ClientRecord.of(client) if client else None
    with _lock:
        if len(_cache) > 10_000:
            # Unknown ids are cached too (as None); a flood of them must not grow memory.
            _cache.clear()
        _cache[client_id] = (now + CLIENT_CACHE_SECONDS, record)
    return record


def _forget(client_id: str) -> None:
    _cache.pop(client_id, None)


def _touch(client_id: str) -> None:
    now = time.monotonic()
    if now - _last_used.get(client_id, -LAST_USED_RESOLUTION_SECONDS) < (
        LAST_USED_RESOLUTION_SECONDS
    ):
        return
    _last_used[client_id] = now
    ServiceClient.objects.filter(client_id=client_id).update(last_used_at=clock.now())


def clear_cache() -> None:
    """For tests: forget every cached client."""
    _cache.clear()
    _last_used.clear()
