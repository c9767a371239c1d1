"""Typed access to the token settings (`authsvc/settings/jwt.py`), read at call time so
`override_settings` works in tests."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings

SUPPORTED_ALGORITHMS = ("RS256", "ES256", "EdDSA")


class TokenSettings:
    @property
    def algorithm(self) -> str:
        return settings.AUTHSVC_JWT_ALGORITHM

    @property
    def keys_dir(self) -> Path:
        return Path(settings.AUTHSVC_KEYS_DIR)

    @property
    def issuer(self) -> str:
        return settings.AUTHSVC_JWT_ISSUER

    @property
    def audience(self) -> str:
        return settings.AUTHSVC_JWT_AUDIENCE

    @property
    def access_ttl(self) -> timedelta:
        return timedelta(seconds=settings.AUTHSVC_ACCESS_TTL_SECONDS)

    @property
    def refresh_ttl(self) -> timedelta:
        return timedelta(seconds=settings.AUTHSVC_REFRESH_TTL_SECONDS)

    @property
    def reuse_grace(self) -> timedelta:
        return timedelta(seconds=settings.AUTHSVC_REFRESH_REUSE_GRACE_SECONDS)

    @property
    def reauth_max_age(self) -> timedelta:
        return timedelta(seconds=settings.AUTHSVC_REAUTH_MAX_AGE_SECONDS)

    @property
    def session_max_age(self) -> timedelta:
        return timedelta(seconds=settings.AUTHSVC_SESSION_MAX_AGE_SECONDS)

    @property
    def jwks_max_age(self) -> int:
        return settings.AUTHSVC_JWKS_MAX_AGE_SECONDS

    @property
    def cookie_secure(self) -> bool:
        return settings.AUTHSVC_COOKIE_SECURE

    @property
    def cookie_domain(self) -> str | None:
        return settings.AUTHSVC_COOKIE_DOMAIN

    @property
    def cookie_cross_site(self) -> bool:
        return settings.AUTHSVC_COOKIE_CROSS_SITE


token_settings = TokenSettings()
