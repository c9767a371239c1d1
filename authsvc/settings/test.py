"""Test settings: the production composition on real PostgreSQL and Redis."""

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-key-5e1d0c7a9b3f4e2d8c6a1b0f9e8d7c6b5a4")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/authsvc")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Purges in tests delete a handful of rows in tiny batches; no need to pause between them.
os.environ.setdefault("AUTHSVC_PURGE_PAUSE_MS", "0")
# The revocation sync adds a query once per interval; tests that count queries must not
# meet one by chance. The outage tests set it to 0 (every request).
os.environ.setdefault("AUTHSVC_REVOCATION_SYNC_SECONDS", "60")
# No background publishing thread holding a connection during the suite: the outbox tests
# run the relay themselves, and turn the fast path on where they test it.
os.environ.setdefault("AUTHSVC_EVENTS_FAST_PATH", "0")
os.environ.setdefault("AUTHSVC_KEYS_DIR", tempfile.mkdtemp(prefix="authsvc-test-keys-"))

from .production import *

# The test client speaks plain HTTP; production redirects such requests to HTTPS.
SECURE_SSL_REDIRECT = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The web process sends its queued mail itself, so tests read mail.outbox without a worker
# (tests/conftest.py also hands the mail over at once: the tests' transaction never commits).
AUTHSVC_MAIL_SEND_ON_COMMIT = True
# The suite runs without `collectstatic`: WhiteNoise finds the apps' static files itself.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # `tests/tokens/test_refresh_on_sqlite.py` runs the rotation tests on SQLite, racing
    # threads included: a file waits for the one writer (the busy timeout), where the
    # default shared in-memory test database answers "table is locked" at once.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.mkdtemp(prefix="authsvc-test-sqlite-"), "test.sqlite3")
    }
