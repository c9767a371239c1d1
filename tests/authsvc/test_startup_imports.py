"""A worker loads what most requests need, not what a few routes do (docs/performance.md,
"Memory"): the modules imported only on first use stay out of a freshly loaded app, and are
there once their route has run."""

from tests.live import production_probe

# Imported inside the functions that use them: py_webauthn (with pyasn1 and pyOpenSSL) by
# the passkey ceremonies, segno by the 2FA setup's QR code, social-auth's strategy (with
# python3-openid's discovery and defusedxml) by the Google flows.
ON_FIRST_USE = [
    "webauthn",
    "pyasn1",
    "OpenSSL",
    "segno",
    "social_django.strategy",
    "social_core.store",
    "openid.consumer",
    "defusedxml",
]

PROBE = """
import json, sys
from authsvc.wsgi import application  # what gunicorn loads: settings, apps, middleware
from django.urls import get_resolver

get_resolver().url_patterns  # every route's module, as the first request loads them
loaded = {name: name in sys.modules for name in %r}
from accounts.mfa.qr import qr_svg

qr_svg("otpauth://totp/authsvc:probe?secret=JBSWY3DPEHPK3PXP")
from accounts.passkeys.services import passkey_login_options

try:
    passkey_login_options()
except Exception:  # noqa: BLE001 - no database here: the import is what is probed
    pass
from django.db import connection
from django.test import RequestFactory
from social_django.models import Nonce

from accounts.social.views import google_start

with connection.schema_editor() as editor:  # the one table Google's start writes (its state)
    editor.create_model(Nonce)
request = RequestFactory().get("/auth/google/")
request.session = {}  # SessionMiddleware's, in a served request
google = google_start(request).status_code
used = {name: name in sys.modules for name in %r}
print(json.dumps({"loaded": loaded, "used": used, "google": google}))
"""


def test_route_specific_modules_load_on_first_use(tmp_path):
    report = production_probe(
        PROBE % (ON_FIRST_USE, ON_FIRST_USE),
        tmp_path,
        GOOGLE_OAUTH_CLIENT_ID="probe.apps.googleusercontent.com",
        GOOGLE_OAUTH_CLIENT_SECRET="probe-secret",
        GOOGLE_OAUTH_REDIRECT_URI="https://auth.example.com/auth/google/callback/",
    )
    assert report["loaded"] == dict.fromkeys(ON_FIRST_USE, False)
    # The probe itself works: the same names are found once their routes ran.
    assert report["used"] == dict.fromkeys(ON_FIRST_USE, True)
    # Google's start, the first use of its strategy in this worker, still redirects there.
    assert report["google"] == 302
