"""The public half of the signing keys: a key's JWK, its RFC 7638 thumbprint (the `kid`)
and the JWKS document `/.well-known/jwks.json` serves."""

import base64
import hashlib
import json

from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}


def public_jwk(public_key, algorithm: str) -> dict:
    if algorithm == "RS256":
        jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    elif algorithm == "ES256":
        jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(public_key, as_dict=True)
    return {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without whitespace."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def jwks_document(keys) -> tuple[bytes, str]:
    """The JWKS of `keys` (every published key, ordered by file name) and its ETag."""
    document = {"keys": [k.public_jwk for k in sorted(keys, key=lambda k: k.path.name)]}
    body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
