"""Keys made here, a small authsvc stand-in on a local port, and Django configured for the
integration tests (this suite runs without pytest-django)."""

import json
import os
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import django
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

if not settings.configured:
    settings.configure(
        SECRET_KEY="tests",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        ROOT_URLCONF="integration_urls",
        MIDDLEWARE=[],
        AUTHSVC_VERIFIER="integration_urls.verifier",
        REST_FRAMEWORK={"UNAUTHENTICATED_USER": None},
        DATABASES={},
    )
    django.setup()

ISSUER = AUDIENCE = "authsvc"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


class Key:
    """A signing key as authsvc holds one, and the JWK it publishes."""

    def __init__(self, algorithm: str = "RS256", kid: str | None = None):
        self.algorithm = algorithm
        if algorithm == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        elif algorithm == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
            jwk = OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.kid = kid or uuid.uuid4().hex
        self.jwk = {**jwk, "kid": self.kid, "alg": algorithm, "use": "sig"}

    def sign(self, claims: dict, *, headers: dict | None = None, algorithm: str | None = None):
        return jwt.encode(
            claims, self.private, algorithm=algorithm or self.algorithm,
            headers={"kid": self.kid, **(headers or {})},
        )


def access_claims(**overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()),
        "jti": uuid.uuid4().hex, "iat": now, "exp": now + 900, "token_type": "access",
        "roles": ["user"], "permissions": ["orders:read"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def service_claims(**overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER, "aud": "orders", "sub": "svc_billing", "client_id": "svc_billing",
        "jti": uuid.uuid4().hex, "iat": now, "exp": now + 300, "token_type": "service",
        "scope": "orders:read orders:write",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


class FakeAuthsvc:
    """The three endpoints a verifier talks to. Tests set `keys`, `jwks_cache_control`,
    `introspect` (form, headers -> (status, body)) and `token` the same way, and read
    `calls` (path -> count) and `requests` (path, form, headers)."""

    def __init__(self):
        self.keys: list[Key] = []
        self.jwks_cache_control = "public, max-age=300"
        self.jwks_status = 200
        self.introspect = lambda form, headers: (200, {"active": False})
        self.token = lambda form, headers: (400, {"error": "invalid_request"})
        self.calls: dict[str, int] = {}
        self.requests: list[tuple[str, dict, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body, headers=()):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                fake.calls[self.path] = fake.calls.get(self.path, 0) + 1
                if self.path != "/.well-known/jwks.json":
                    return self._answer(404, {"error": "not_found"})
                body = {"keys": [key.jwk for key in fake.keys]}
                self._answer(fake.jwks_status, body, [("Cache-Control", fake.jwks_cache_control)])

            def do_POST(self):
                fake.calls[self.path] = fake.calls.get(self.path, 0) + 1
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = dict(urllib.parse.parse_qsl(raw))
                headers = dict(self.headers.items())
                fake.requests.append((self.path, form, headers))
                handler = {"/auth/verify/": fake.introspect, "/auth/token/": fake.token}.get(
                    self.path
                )
                if handler is None:
                    return self._answer(404, {"error": "not_found"})
                self._answer(*handler(form, headers))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def authsvc():
    fake = FakeAuthsvc()
    yield fake
    fake.close()


@pytest.fixture
def key(authsvc):
    key = Key("RS256")
    authsvc.keys.append(key)
    return key


def dead_url() -> str:
    """A local address where nothing listens."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}"
