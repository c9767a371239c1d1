"""Core Django settings: apps, middleware, database, templates, DRF, passwords, logging."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from authsvc.logs import logging_config

from .env import database_from_url, db_watch_seconds, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        # A guessable key would let anyone forge password-reset links, email-verification keys
        # and the signed admin session cookie.
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off; the service will not start."
        )
    SECRET_KEY = "development-only-insecure-key-never-use-in-production-3b0f7c1e9a"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # The admin with a rate-limited, two-step login (authsvc/admin_site.py).
    "authsvc.admin_apps.AdminConfig",
    # Before django.contrib.auth so its `changepassword` command (which ends the user's
    # sessions) replaces Django's.
    # The audit log, at the bottom of the project's apps: it imports none of the others.
    "audit",
    # The mail queue, below accounts (which registers the mails it sends): no app above.
    "mailqueue",
    "accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # social_django, without the strategy it builds at start (accounts/social/apps.py).
    "accounts.social.apps.SocialAuthConfig",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "corsheaders",
    "authsvc",
    "tokens",
    "sessions_store",
    # The pages for people, on top of the apps they call (pages/).
    "pages",
]

MIDDLEWARE = [
    # First, so every answer carries X-Request-ID and every log line of the request its id
    # (authsvc/logs.py), the HTTPS redirect and static files included.
    "authsvc.logs.RequestIdMiddleware",
    # Next, so it times every answer and sees its final status (authsvc/metrics.py).
    "authsvc.metrics.RequestMetrics",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response, static files included (authsvc/csp.py).
    "authsvc.csp.ContentSecurityPolicyMiddleware",
    # Static files (the admin's, Swagger UI's) without a proxy; after SecurityMiddleware so
    # the HTTPS redirect and HSTS still apply to them. See settings/apidocs.py.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # CORS for front ends on another origin (settings/cors.py): it answers preflights itself
    # and adds its headers to every answer of the paths it covers, errors included.
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The pages' language (cookie, then Accept-Language), decided once the route is known
    # so the API stays English; before CSRF, whose failure page speaks it (pages/locale.py).
    "pages.locale.PageLocaleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # PostgreSQL outages (docs/failure-model.md): a plain view that failed
    # because the database did not answer is a 503 `unavailable`, never a 500.
    "authsvc.errors.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "authsvc.urls"
# An API answers the path it was asked; a slash redirect would drop a POST body.
APPEND_SLASH = False
WSGI_APPLICATION = "authsvc.wsgi.application"
ASGI_APPLICATION = "authsvc.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pages.context_processors.site",
            ],
        },
    },
]

# How long a request may wait on PostgreSQL (to connect, or for one statement, commit or
# lock) before it answers `503 unavailable`; see docs/failure-model.md.
AUTHSVC_DB_TIMEOUT_SECONDS = env_int("AUTHSVC_DB_TIMEOUT_SECONDS", 5, minimum=1)
# One round trip is cut a little before that (authsvc/postgres), so the 503 comes within it.
AUTHSVC_DB_WATCH_SECONDS = db_watch_seconds(AUTHSVC_DB_TIMEOUT_SECONDS)
# "pgbouncer" when DATABASE_URL (and DATABASE_REPLICA_URL) name PgBouncer in transaction
# pooling mode: no session state (authsvc/settings/env.py, docs/production.md).
AUTHSVC_DB_POOLER = env_str("AUTHSVC_DB_POOLER", "")
DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", "sqlite:///db.sqlite3"),
        base_dir=BASE_DIR,
        timeout_seconds=AUTHSVC_DB_TIMEOUT_SECONDS,
        pooler=AUTHSVC_DB_POOLER,
    )
}
# A streaming replica of it, for the few reads a moment-old answer cannot harm
# (authsvc/replica.py); never written to, never migrated (the primary's changes replay).
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = database_from_url(
        DATABASE_REPLICA_URL,
        base_dir=BASE_DIR,
        timeout_seconds=AUTHSVC_DB_TIMEOUT_SECONDS,
        pooler=AUTHSVC_DB_POOLER,
    )
    # Tests read the primary's test database through it.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["authsvc.replica.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"

# Argon2id with OWASP's second recommended profile (m=19 MiB, t=2, p=1). p=1 because
# parallelism here comes from gunicorn workers, and a small memory cost keeps a burst of
# logins from exhausting RAM; the values are settings so operators can raise them, and the
# accounts system check refuses anything under OWASP's floor. Hashes made with other
# parameters or by the older hashers below are re-hashed on the next successful login.
AUTHSVC_ARGON2_MEMORY_KIB = env_int("AUTHSVC_ARGON2_MEMORY_KIB", 19456, minimum=1)
AUTHSVC_ARGON2_TIME_COST = env_int("AUTHSVC_ARGON2_TIME_COST", 2, minimum=1)
AUTHSVC_ARGON2_PARALLELISM = env_int("AUTHSVC_ARGON2_PARALLELISM", 1, minimum=1)
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
]

# The hashing pool (accounts/hashers.py): argon2 runs on this many threads per process at
# a lowered CPU priority (a nice value, Linux only; 0 leaves it), and at most this many more
# credential requests per process wait for them; beyond that a login answers 503 at once,
# so a login storm never holds all of a gunicorn worker's threads (docs/performance.md).
AUTHSVC_HASHING_THREADS = env_int("AUTHSVC_HASHING_THREADS", 1, minimum=1)
AUTHSVC_HASHING_QUEUE = env_int("AUTHSVC_HASHING_QUEUE", 3, minimum=0)
AUTHSVC_HASHING_NICE = env_int("AUTHSVC_HASHING_NICE", 10, minimum=0, maximum=19)

AUTHSVC_PASSWORD_MIN_LENGTH = env_int("AUTHSVC_PASSWORD_MIN_LENGTH", 8, minimum=8)
# Long passphrases are welcome, but hashing megabytes per request is a denial of service.
AUTHSVC_PASSWORD_MAX_LENGTH = 1024
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "accounts.validators.MaximumLengthValidator",
        "OPTIONS": {"max_length": AUTHSVC_PASSWORD_MAX_LENGTH},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": AUTHSVC_PASSWORD_MIN_LENGTH},
    },
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "name")},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "accounts.validators.BreachedPasswordValidator"},
    # No composition rules (NIST SP 800-63B): no Numeric, no "a digit and a symbol".
]
# Ask HaveIBeenPwned too (k-anonymity range API). Off by default: it needs the network,
# and when it does not answer in time the check fails open.
AUTHSVC_HIBP_ENABLED = env_bool("AUTHSVC_HIBP_ENABLED", False)
AUTHSVC_HIBP_TIMEOUT_SECONDS = env_int("AUTHSVC_HIBP_TIMEOUT_SECONDS", 2, minimum=1)

TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

# Request bodies are small JSON documents; anything larger is refused before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
AUTHSVC_MAX_JSON_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tokens.authentication.AccessTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["authsvc.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "authsvc.errors.exception_handler",
    # The OpenAPI document is generated from the views (authsvc/schema/).
    "DEFAULT_SCHEMA_CLASS": "authsvc.schema.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

# Behind a reverse proxy, how many X-Forwarded-For hops to trust; 0 means REMOTE_ADDR only,
# so a forged header can never change who a request appears to come from.
AUTHSVC_TRUSTED_PROXY_COUNT = env_int("AUTHSVC_TRUSTED_PROXY_COUNT", 0, minimum=0)
AUTHSVC_FRONTEND_URL = env_str("AUTHSVC_FRONTEND_URL", "http://localhost:8000/")

LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO")
# One JSON object per line on stdout, with the request id (authsvc/logs.py); `text` is for
# reading `make run` in a terminal, and the system checks refuse it outside debug.
AUTHSVC_LOG_FORMAT = env_str("AUTHSVC_LOG_FORMAT", "json")
LOGGING = logging_config(level=LOG_LEVEL, log_format=AUTHSVC_LOG_FORMAT)

# `make bench` mounts its two floors (a bare JsonResponse and a bare DRF view) next to the
# real endpoints; never on otherwise.
AUTHSVC_BENCH = env_bool("AUTHSVC_BENCH", False)
