"""Google login through social-auth-app-django (accounts/social/)."""

from .base import AUTHSVC_FRONTEND_URL
from .env import env_int, env_str

GOOGLE_OAUTH_CLIENT_ID = env_str("GOOGLE_OAUTH_CLIENT_ID", "") or ""
GOOGLE_OAUTH_CLIENT_SECRET = env_str("GOOGLE_OAUTH_CLIENT_SECRET", "") or ""
# The callback URL registered with Google; unset, it is built from the request
# (https://<host>/auth/google/callback/ behind a TLS proxy that sets the proxy header).
GOOGLE_OAUTH_REDIRECT_URI = env_str("GOOGLE_OAUTH_REDIRECT_URI", "") or ""
# Where the browser lands after Google: tokens set, or ?error=<code>, or ?mfa_required=1.
AUTHSVC_GOOGLE_RETURN_URL = env_str("AUTHSVC_GOOGLE_RETURN_URL", AUTHSVC_FRONTEND_URL)
# How long the round trip to Google's consent page may take.
AUTHSVC_GOOGLE_FLOW_TTL_SECONDS = env_int("AUTHSVC_GOOGLE_FLOW_TTL_SECONDS", 600, minimum=60)

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "accounts.social.backends.GoogleOAuth2",
]
SOCIAL_AUTH_GOOGLE_OAUTH2_SCOPE: list[str] = []  # the backend's default: openid email profile
SOCIAL_AUTH_GOOGLE_OAUTH2_AUTH_EXTRA_ARGUMENTS = {"prompt": "select_account"}
SOCIAL_AUTH_STRATEGY = "accounts.social.strategy.FlowCookieStrategy"
SOCIAL_AUTH_USER_MODEL = "accounts.User"
SOCIAL_AUTH_JSONFIELD_ENABLED = True
SOCIAL_AUTH_REQUESTS_TIMEOUT = env_int("AUTHSVC_GOOGLE_TIMEOUT_SECONDS", 5, minimum=1)
# Our own steps decide who logs in; social-auth's defaults would match or create accounts
# by email, which is how account takeover through a provider happens.
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    # Also keeps Google's tokens out of the database (no load_extra_data): the service
    # needs to know who the user is, not to reach their Google data.
    "accounts.social.pipeline.resolve_user",
)
