"""Passkeys (WebAuthn, accounts/passkeys/): the relying party.

The relying-party id is the domain a passkey is bound to; a browser offers a passkey only to
pages whose host is that domain or under it, and signs the page's origin into every answer,
which the service compares with AUTHSVC_WEBAUTHN_ORIGINS. `authsvc.checks` (E080-E085)
refuses an id that is not the host, or a parent domain, of every origin, an id that is a
public suffix, and a plain-HTTP origin outside debug (http://localhost excepted); while
neither variable is set, the same problems of the derived defaults are warnings (W080-W085).
"""

from urllib.parse import urlsplit

from .base import AUTHSVC_FRONTEND_URL
from .cors import AUTHSVC_CORS_ALLOWED_ORIGINS
from .env import env_list, env_set, env_str


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


AUTHSVC_WEBAUTHN_RP_ID = env_str(
    "AUTHSVC_WEBAUTHN_RP_ID", urlsplit(AUTHSVC_FRONTEND_URL).hostname or ""
)
AUTHSVC_WEBAUTHN_ORIGINS = [
    origin.rstrip("/")
    for origin in env_list(
        "AUTHSVC_WEBAUTHN_ORIGINS",
        list(dict.fromkeys([_origin(AUTHSVC_FRONTEND_URL), *AUTHSVC_CORS_ALLOWED_ORIGINS])),
    )
]

# Whether the operator set either variable. Until then the defaults above are only a guess
# (a front end's CORS origins need not share its domain), so the check warns rather than
# refusing to start a deployment that does not use passkeys.
AUTHSVC_WEBAUTHN_CONFIGURED = env_set("AUTHSVC_WEBAUTHN_RP_ID") or env_set(
    "AUTHSVC_WEBAUTHN_ORIGINS"
)
