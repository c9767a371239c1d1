"""Signing keys on disk and the JWKS document built from them.

Each key is one PEM file in AUTHSVC_KEYS_DIR named `key-<UTC timestamp>-<kid>.pem`; its
algorithm follows from the key type (RSA: RS256, P-256: ES256, Ed25519: EdDSA) and its
`kid` is the RFC 7638 thumbprint of the public key. The timestamp is the key's activation
time: of the keys of the configured algorithm whose time has come, the newest signs. Every
key in the folder verifies and is published, those still waiting for their time too (that
is what the wait is for, see `PUBLISH_DELAY`), and so are older ones, because tokens they
signed may still be alive. Keys moved to `retired/` are neither.

The package: `files` (generate, write and load key files), `jwks` (public JWKs, `kid`
thumbprints, the JWKS document), `keyring` (the process's keys, rescans, which key signs).
"""

from tokens.keys.files import (
    KEY_GLOB,
    KeyringError,
    SigningKey,
    algorithm_for,
    generate_private_key,
    load_key,
    load_keys,
    write_new_key,
)
from tokens.keys.jwks import jwk_thumbprint, jwks_document, public_jwk
from tokens.keys.keyring import (
    PUBLISH_DELAY,
    RESCAN_INTERVAL_SECONDS,
    Keyring,
    get_keyring,
)

__all__ = [
    "KEY_GLOB",
    "PUBLISH_DELAY",
    "RESCAN_INTERVAL_SECONDS",
    "Keyring",
    "KeyringError",
    "SigningKey",
    "algorithm_for",
    "generate_private_key",
    "get_keyring",
    "jwk_thumbprint",
    "jwks_document",
    "load_key",
    "load_keys",
    "public_jwk",
    "write_new_key",
]
