from django.conf import settings
from social_core.backends.google import GoogleOAuth2 as _GoogleOAuth2
from social_core.backends.oauth import BaseOAuth2PKCE


class GoogleOAuth2(_GoogleOAuth2, BaseOAuth2PKCE):
    """social-core's Google backend (users keyed by the stable `sub`, `email_verified`
    required) with PKCE (S256): a stolen authorization code is useless without the
    verifier, which never leaves the browser's flow cookie and this service."""

    PKCE_DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def __init__(self, strategy=None, redirect_uri=None):
        if strategy is None:
            # Django's get_backends() builds the backend without a strategy; social-core
            # would take the default that social_django's ready() no longer sets
            # (accounts/social/apps.py), so it gets the strategy that default would be.
            from social_django.utils import load_strategy

            strategy = load_strategy()
        super().__init__(strategy, redirect_uri)

    def get_key_and_secret(self) -> tuple[str, str]:
        # One source for the credentials: the contract's environment variables.
        return settings.GOOGLE_OAUTH_CLIENT_ID, settings.GOOGLE_OAUTH_CLIENT_SECRET
