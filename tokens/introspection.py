"""Token introspection (RFC 7662): is this token active, and what does it say?

A user's access token is active while its signature and claims hold *and* its session is
alive: the same snapshot read (`session_snapshot`) that authenticates every request, so a
logout, ban or password change shows at once. The roles, permissions and attributes come
from the session as it is now, not as the token was minted. A service token is active
while its client is active with the same secret version. Anything else, forged, expired,
revoked, a refresh token, garbage, is `{"active": false}` and nothing more.
"""

from authsvc import metrics
from sessions_store.selectors import session_snapshot
from tokens.access import access_token_verify
from tokens.exceptions import TokenInvalid
from tokens.service_tokens import ANY_AUDIENCE, service_token_verify

INACTIVE = {"active": False}


def token_introspect(raw: str) -> dict:
    answer = _introspect(raw)
    metrics.introspected(token_type=answer.get("token_type"), active=answer["active"])
    return answer


def _introspect(raw: str) -> dict:
    try:
        claims = access_token_verify(raw)
    except TokenInvalid:
        return _service_token(raw)
    snapshot = session_snapshot(claims["sid"])
    if snapshot is None or snapshot.user_id != claims["sub"]:
        return dict(INACTIVE)
    answer = {
        "active": True,
        "token_type": "access",
        "iss": claims["iss"],
        "aud": claims["aud"],
        "sub": snapshot.user_id,
        "sid": snapshot.sid,
        "jti": claims["jti"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "roles": list(snapshot.roles),
        "amr": list(snapshot.amr),
        "email": snapshot.email,
        "email_verified": snapshot.email_verified,
    }
    if snapshot.auth_time:
        answer["auth_time"] = snapshot.auth_time
    # The session's claims as they are now (PUT /auth/sessions/<sid>/claims/), under the
    # access token's names, left out like there when empty.
    if snapshot.permissions:
        answer["permissions"] = list(snapshot.permissions)
    if snapshot.attributes:
        answer["attrs"] = snapshot.attributes
    return answer


def _service_token(raw: str) -> dict:
    try:
        claims, client = service_token_verify(raw, audience=ANY_AUDIENCE)
    except TokenInvalid:
        return dict(INACTIVE)
    return {
        "active": True,
        "token_type": "service",
        "iss": claims["iss"],
        "aud": claims["aud"],
        "sub": client.client_id,
        "client_id": client.client_id,
        "jti": claims["jti"],
        "scope": claims["scope"],
        "exp": claims["exp"],
        "iat": claims["iat"],
    }
