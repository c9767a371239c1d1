"""The pages for people (pages/): their look and the languages they speak.

The service's name on the pages (and in the emails) is AUTHSVC_SERVICE_NAME
(settings/email.py); the brand colour is checked by `pages.checks` (authsvc.E070).
"""

from django.utils.translation import gettext_lazy as _

from .base import BASE_DIR
from .env import env_str
from .jwt import AUTHSVC_COOKIE_SECURE

# The accent of buttons and links: a #rrggbb colour. Text on it is white or near-black,
# whichever contrasts more (pages/branding.py).
AUTHSVC_BRAND_COLOR = env_str("AUTHSVC_BRAND_COLOR", "#2563eb")

# The pages speak these; the API's JSON stays English (its `error` codes are what clients
# branch on). A page picks the language cookie set by the switcher, then Accept-Language.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_SECURE = AUTHSVC_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# Flash messages ("Password changed.") travel in a signed cookie: no server-side session.
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
