"""Access tokens, refresh tokens and the auth cookies (read by `tokens.conf`)."""

from .base import BASE_DIR, DEBUG
from .env import env_bool, env_int, env_str

AUTHSVC_KEYS_DIR = env_str("AUTHSVC_KEYS_DIR", str(BASE_DIR / "var" / "keys"))
AUTHSVC_JWT_ALGORITHM = env_str("AUTHSVC_JWT_ALGORITHM", "RS256")
AUTHSVC_JWT_ISSUER = env_str("AUTHSVC_JWT_ISSUER", "authsvc")
AUTHSVC_JWT_AUDIENCE = env_str("AUTHSVC_JWT_AUDIENCE", "authsvc")
AUTHSVC_ACCESS_TTL_SECONDS = env_int("AUTHSVC_ACCESS_TTL_SECONDS", 900, minimum=1)
AUTHSVC_REFRESH_TTL_SECONDS = env_int("AUTHSVC_REFRESH_TTL_SECONDS", 604800, minimum=1)
AUTHSVC_REFRESH_REUSE_GRACE_SECONDS = env_int("AUTHSVC_REFRESH_REUSE_GRACE_SECONDS", 5, minimum=0)
# Step-up: adding or removing a second factor, linking Google and changing the email need a
# session that proved a factor (login or POST /auth/reauth/) at most this long ago.
AUTHSVC_REAUTH_MAX_AGE_SECONDS = env_int("AUTHSVC_REAUTH_MAX_AGE_SECONDS", 300, minimum=1)
# A session (and every refresh token and refresh cookie of it) ends this long after the login,
# however often it is refreshed. 30 days.
AUTHSVC_SESSION_MAX_AGE_SECONDS = env_int("AUTHSVC_SESSION_MAX_AGE_SECONDS", 2592000, minimum=1)
# Service tokens (POST /auth/token/, client credentials): short, since a client fetches a new
# one whenever it needs to; a disabled client's tokens die at once anyway.
AUTHSVC_SERVICE_TOKEN_TTL_SECONDS = env_int(
    "AUTHSVC_SERVICE_TOKEN_TTL_SECONDS", 300, minimum=1, maximum=3600
)
AUTHSVC_JWKS_MAX_AGE_SECONDS = env_int("AUTHSVC_JWKS_MAX_AGE_SECONDS", 300, minimum=0)

AUTHSVC_COOKIE_SECURE = env_bool("AUTHSVC_COOKIE_SECURE", not DEBUG)
AUTHSVC_COOKIE_DOMAIN = env_str("AUTHSVC_COOKIE_DOMAIN") or None

# simplejwt's module-level backend is never used to sign (tokens.backends replaces it); with
# no signing key and an asymmetric algorithm, any accidental use fails instead of falling
# back to HS256 over SECRET_KEY.
SIMPLE_JWT = {
    "ALGORITHM": AUTHSVC_JWT_ALGORITHM,
    "SIGNING_KEY": None,
    "VERIFYING_KEY": None,
    "AUDIENCE": AUTHSVC_JWT_AUDIENCE,
    "ISSUER": AUTHSVC_JWT_ISSUER,
    "USER_ID_CLAIM": "sub",
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
}
