"""Verify authsvc's access and service tokens in a downstream Python service.

See README.md: choose a liveness mode (signature, introspection, feed), then use the
Verifier directly or through the Django, DRF or WSGI integrations.
"""

from authsvc_verifier.errors import (
    AuthsvcUnavailable,
    InvalidToken,
    ServiceAuthError,
    VerifierError,
)
from authsvc_verifier.feed import DenySet, RedisStreamFeed, RevocationFeed
from authsvc_verifier.introspection import Introspector, basic_credential
from authsvc_verifier.jwks import JWKSCache, PublicKey
from authsvc_verifier.principal import Principal
from authsvc_verifier.service_auth import ServiceAuthClient
from authsvc_verifier.verifier import Verifier, bearer_token

__all__ = [
    "AuthsvcUnavailable",
    "DenySet",
    "Introspector",
    "InvalidToken",
    "JWKSCache",
    "Principal",
    "PublicKey",
    "RedisStreamFeed",
    "RevocationFeed",
    "ServiceAuthClient",
    "ServiceAuthError",
    "Verifier",
    "VerifierError",
    "basic_credential",
    "bearer_token",
    "introspector_for",
]


def introspector_for(client: ServiceAuthClient, base_url: str, **options) -> Introspector:
    """An Introspector that authenticates with `client`'s service token (scope
    `introspect`), fetching a new one when authsvc refuses the cached one."""
    return Introspector(
        base_url,
        credential=client.introspection_credential(),
        on_credential_refused=lambda: client.invalidate(
            scope="introspect", audience=client.authsvc_audience
        ),
        **options,
    )
