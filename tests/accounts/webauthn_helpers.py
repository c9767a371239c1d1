"""A software authenticator: real WebAuthn attestations and assertions, made with
`cryptography` (P-256, ES256) and CBOR, so the ceremonies are tested without a browser.

It follows WebAuthn Level 2: `clientDataJSON` as a browser builds it, authenticator data
(RP id hash, flags, signature counter, attested credential data), "none" or "packed"
self-attestation, and assertions signed over `authenticatorData || SHA-256(clientDataJSON)`.
Each part can be bent (origin, RP id, challenge, flags, counter) to test the refusals.
"""

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    def __init__(self, *, backup_eligible: bool = False, counting: bool = True):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.backup_eligible = backup_eligible
        # A synced passkey usually keeps its counter at 0; a security key counts.
        self.counting = counting
        self.sign_count = 0
        self.user_handle: str | None = None

    @property
    def id(self) -> str:
        return b64u(self.credential_id)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _flags(self, *, uv: bool, up: bool = True) -> int:
        flags = (UP if up else 0) | (UV if uv else 0)
        if self.backup_eligible:
            flags |= BE | BS
        return flags

    def _sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str | None) -> bytes:
        origin = origin or settings.AUTHSVC_WEBAUTHN_ORIGINS[0]
        document = {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
        return json.dumps(document, separators=(",", ":")).encode()

    def register(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | None = None,
        uv: bool = True,
        fmt: str = "none",
    ) -> dict:
        """The answer to creation options, as `PublicKeyCredential.toJSON()` gives it."""
        self.user_handle = options["user"]["id"]
        client_data = self._client_data(
            "webauthn.create", challenge or options["challenge"], origin
        )
        rp_hash = hashlib.sha256((rp_id or options["rp"]["id"]).encode()).digest()
        if self.counting:
            self.sign_count += 1
        auth_data = (
            rp_hash
            + bytes([self._flags(uv=uv) | AT])
            + struct.pack(">I", self.sign_count)
            + bytes(16)  # AAGUID: none
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_key()
        )
        if fmt == "packed":
            # Self attestation: signed by the credential's own key.
            signature = self._sign(auth_data + hashlib.sha256(client_data).digest())
            statement = {"alg": -7, "sig": signature}
        else:
            statement = {}
        attestation = cbor2.dumps({"fmt": fmt, "attStmt": statement, "authData": auth_data})
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64u(client_data),
                "attestationObject": b64u(attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def assertion(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | None = None,
        uv: bool = True,
        sign_count: int | None = None,
        user_handle: str | None = "",
    ) -> dict:
        """The answer to request options, as `PublicKeyCredential.toJSON()` gives it."""
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        rp_hash = hashlib.sha256((rp_id or options["rpId"]).encode()).digest()
        if sign_count is not None:
            self.sign_count = sign_count
        elif self.counting:
            self.sign_count += 1
        auth_data = rp_hash + bytes([self._flags(uv=uv)]) + struct.pack(">I", self.sign_count)
        signature = self._sign(auth_data + hashlib.sha256(client_data).digest())
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64u(client_data),
                "authenticatorData": b64u(auth_data),
                "signature": b64u(signature),
                "userHandle": self.user_handle if user_handle == "" else user_handle,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }


def register_passkey(browser, authenticator: SoftAuthenticator, **register) -> dict:
    """Register `authenticator` from a signed-in, recently authenticated `browser`."""
    options = browser.post_json("/auth/passkeys/register/options/")
    assert options.status_code == 200, options.content
    body = {"credential": authenticator.register(options.json())}
    if "name" in register:
        body["name"] = register.pop("name")
    response = browser.post_json("/auth/passkeys/register/", body)
    assert response.status_code == 201, response.content
    return response.json()


def login_options(browser) -> dict:
    response = browser.post_json("/auth/passkeys/login/options/")
    assert response.status_code == 200, response.content
    return response.json()


def passkey_login(browser, authenticator: SoftAuthenticator, **assertion):
    credential = authenticator.assertion(login_options(browser), **assertion)
    return browser.post_json("/auth/passkeys/login/", {"credential": credential})
