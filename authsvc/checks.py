"""System checks that refuse unsafe configuration at start-up (`manage.py check`)."""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from accounts.hashers import OWASP_MIN_MEMORY_KIB, OWASP_MIN_TIME_COST
from tokens.conf import SUPPORTED_ALGORITHMS


@register(Tags.security, deploy=False)
def check_tokens(app_configs, **kwargs):
    errors = []
    if settings.AUTHSVC_JWT_ALGORITHM not in SUPPORTED_ALGORITHMS:
        errors.append(
            Error(
                f"AUTHSVC_JWT_ALGORITHM={settings.AUTHSVC_JWT_ALGORITHM!r} is not allowed.",
                hint=f"Use one of {', '.join(SUPPORTED_ALGORITHMS)}; shared-secret HS* "
                "algorithms let every verifier forge tokens.",
                id="authsvc.E001",
            )
        )
    if not settings.DEBUG and not settings.AUTHSVC_COOKIE_SECURE:
        errors.append(
            Error(
                "AUTHSVC_COOKIE_SECURE is off outside debug.",
                hint="Auth cookies without Secure leak over plain HTTP; set it to 1.",
                id="authsvc.E002",
            )
        )
    if settings.AUTHSVC_ACCESS_TTL_SECONDS >= settings.AUTHSVC_REFRESH_TTL_SECONDS:
        errors.append(
            Error(
                "AUTHSVC_ACCESS_TTL_SECONDS must be shorter than AUTHSVC_REFRESH_TTL_SECONDS.",
                id="authsvc.E003",
            )
        )
    if settings.AUTHSVC_SESSION_MAX_AGE_SECONDS < settings.AUTHSVC_ACCESS_TTL_SECONDS:
        errors.append(
            Error(
                "AUTHSVC_SESSION_MAX_AGE_SECONDS must not be shorter than "
                "AUTHSVC_ACCESS_TTL_SECONDS.",
                hint="A session capped below one access lifetime ends before the first refresh.",
                id="authsvc.E004",
            )
        )
    return errors


@register(Tags.security)
def check_password_hashing(app_configs, **kwargs):
    errors = []
    if settings.PASSWORD_HASHERS[0] != "accounts.hashers.Argon2idPasswordHasher":
        errors.append(Error("The first password hasher must be argon2id.", id="authsvc.E010"))
    if (
        settings.AUTHSVC_ARGON2_MEMORY_KIB < OWASP_MIN_MEMORY_KIB
        or settings.AUTHSVC_ARGON2_TIME_COST < OWASP_MIN_TIME_COST
    ):
        errors.append(
            Error(
                "Argon2 parameters are below OWASP's minimum (m=19 MiB, t=2, p=1).",
                hint="Raise AUTHSVC_ARGON2_MEMORY_KIB / AUTHSVC_ARGON2_TIME_COST.",
                id="authsvc.E011",
            )
        )
    return errors


@register(Tags.caches, deploy=True)
def check_shared_store(app_configs, **kwargs):
    if settings.DEBUG or settings.REDIS_URL:
        return []
    return [
        Warning(
            "REDIS_URL is unset: sessions and rate limits live in each process.",
            hint="With more than one worker a revocation reaches the other workers only when "
            "their cached snapshot expires; set REDIS_URL in production.",
            id="authsvc.W001",
        )
    ]


@register(Tags.caches)
def check_redis_failover(app_configs, **kwargs):
    errors = []
    if not 10 <= settings.AUTHSVC_REDIS_TIMEOUT_MS <= 5000:
        errors.append(
            Error(
                "AUTHSVC_REDIS_TIMEOUT_MS must be between 10 and 5000.",
                hint="Too short fails a healthy Redis; too long lets a partitioned Redis hold "
                "every worker (each request waits this long before falling back).",
                id="authsvc.E040",
            )
        )
    if not 1 <= settings.AUTHSVC_REDIS_BREAKER_SECONDS <= 300:
        errors.append(Error("AUTHSVC_REDIS_BREAKER_SECONDS must be 1 to 300.", id="authsvc.E041"))
    if settings.AUTHSVC_REDIS_REVOCATION_REPLICAS > 5:
        errors.append(
            Error(
                "AUTHSVC_REDIS_REVOCATION_REPLICAS must be 0 to 5.",
                hint="The replicas of one master that must hold a tombstone; more than a "
                "master has turns every revocation into a pending one.",
                id="authsvc.E043",
            )
        )
    sync_ceiling = min(60, settings.AUTHSVC_ACCESS_TTL_SECONDS)
    if settings.AUTHSVC_REVOCATION_SYNC_SECONDS > sync_ceiling:  # noqa: SIM300
        errors.append(
            Error(
                "AUTHSVC_REVOCATION_SYNC_SECONDS must be at most 60 and below the access "
                "token lifetime.",
                hint="It bounds how long a revocation made while Redis was unreachable can "
                "be missed by another process.",
                id="authsvc.E042",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def check_rate_limits(app_configs, **kwargs):
    if settings.DEBUG or settings.RATELIMIT_ENABLE:
        return []
    return [
        Warning(
            "AUTHSVC_RATE_LIMITS_ENABLED=0: no rate limits and no account lockout.",
            hint="Only for load tests of a private deployment; passwords and 2FA codes can be "
            "guessed at full speed.",
            id="authsvc.W002",
        )
    ]


@register(Tags.security, deploy=True)
def check_bench_routes(app_configs, **kwargs):
    if not settings.AUTHSVC_BENCH:
        return []
    return [
        Warning(
            "AUTHSVC_BENCH=1: the benchmark's routes are mounted, among them a password check "
            "and a refresh token rotation with no rate limit, lockout or reuse detection "
            "(authsvc/bench_views.py).",
            hint="Only for `make bench` on a machine of its own; never where anyone else can "
            "reach the service.",
            id="authsvc.W007",
        )
    ]


@register(Tags.security, deploy=True)
def check_admin_second_factor(app_configs, **kwargs):
    if settings.DEBUG or settings.AUTHSVC_ADMIN_REQUIRE_2FA:
        return []
    return [
        Warning(
            "AUTHSVC_ADMIN_REQUIRE_2FA=0: staff without a second factor use the admin site "
            "with their password alone.",
            hint="A guessed or leaked staff password then opens the admin; leave it on.",
            id="authsvc.W003",
        )
    ]


# A request waits at most about this long on PostgreSQL before it answers 503; gunicorn's
# --timeout (30 s in the Dockerfile) must stay well above it, or workers are killed
# mid-request instead of answering.
DB_TIMEOUT_MAX_SECONDS = 60
DB_TIMEOUT_ADVISED_MAX_SECONDS = 10


@register(Tags.compatibility)
def check_database_timeout(app_configs, **kwargs):
    seconds = settings.AUTHSVC_DB_TIMEOUT_SECONDS
    if not isinstance(seconds, int) or not 1 <= seconds <= DB_TIMEOUT_MAX_SECONDS:
        return [
            Error(
                f"AUTHSVC_DB_TIMEOUT_SECONDS={seconds!r} is out of bounds.",
                hint=f"Use a whole number of seconds from 1 to {DB_TIMEOUT_MAX_SECONDS}: past "
                "that, a request waiting on an unreachable database is a hang to its client "
                "and gunicorn kills the worker.",
                id="authsvc.E020",
            )
        ]
    if seconds > DB_TIMEOUT_ADVISED_MAX_SECONDS:
        return [
            Warning(
                f"AUTHSVC_DB_TIMEOUT_SECONDS={seconds} lets a request wait that long on "
                "PostgreSQL before it answers 503.",
                hint="Keep gunicorn's --timeout at least three times higher.",
                id="authsvc.W004",
            )
        ]
    return []


def _origin_problem(origin: str) -> str | None:
    """Why `origin` is not an exact `scheme://host[:port]` origin, or None."""
    if origin in ("*", "null") or "*" in origin:
        return "wildcard"
    parts = urlsplit(origin)
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "malformed"
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path
        or parts.query
        or parts.fragment
    ):
        return "malformed"
    if parts.scheme == "http" and not settings.DEBUG:
        return "http"
    return None


@register(Tags.security)
def check_cors(app_configs, **kwargs):
    """AUTHSVC_CORS_ALLOWED_ORIGINS may call the API with the browser's cookies and are
    trusted for CSRF: each must be one exact origin, over HTTPS outside debug."""
    errors = []
    for origin in settings.AUTHSVC_CORS_ALLOWED_ORIGINS:
        problem = _origin_problem(origin)
        if problem == "wildcard":
            errors.append(
                Error(
                    f"AUTHSVC_CORS_ALLOWED_ORIGINS holds a wildcard ({origin!r}).",
                    hint="Name each front end's exact origin: with credentials, a wildcard "
                    "would let any site act as the signed-in user.",
                    id="authsvc.E050",
                )
            )
        elif problem == "malformed":
            errors.append(
                Error(
                    f"AUTHSVC_CORS_ALLOWED_ORIGINS holds {origin!r}, which is not an origin.",
                    hint="Write scheme://host[:port], e.g. https://app.example.com, with no path.",
                    id="authsvc.E051",
                )
            )
        elif problem == "http":
            errors.append(
                Error(
                    f"AUTHSVC_CORS_ALLOWED_ORIGINS holds {origin!r}, a plain-HTTP origin, "
                    "outside debug.",
                    hint="A page served over HTTP can be altered on the way and would then act "
                    "as the user; use its https:// origin.",
                    id="authsvc.E052",
                )
            )
    if settings.AUTHSVC_COOKIE_CROSS_SITE and not settings.AUTHSVC_COOKIE_SECURE:
        errors.append(
            Error(
                "AUTHSVC_COOKIE_CROSS_SITE needs AUTHSVC_COOKIE_SECURE.",
                hint="Browsers drop a SameSite=None cookie that is not Secure.",
                id="authsvc.E053",
            )
        )
    return errors


@register(Tags.security)
def check_log_format(app_configs, **kwargs):
    """Outside debug every line is JSON: collectors parse it, and a multi-line traceback in
    text would be split into lines that name no request."""
    if settings.AUTHSVC_LOG_FORMAT != "json" and not settings.DEBUG:
        return [
            Error(
                f"AUTHSVC_LOG_FORMAT={settings.AUTHSVC_LOG_FORMAT!r} outside debug.",
                hint="Leave it at json; text is for reading `make run` in a terminal.",
                id="authsvc.E090",
            )
        ]
    return []


@register(Tags.security)
def check_metrics_allowed_ips(app_configs, **kwargs):
    everyone = [str(net) for net in settings.AUTHSVC_METRICS_ALLOWED_IPS if net.prefixlen == 0]
    if not everyone:
        return []
    return [
        Warning(
            "AUTHSVC_METRICS_ALLOWED_IPS lets every address read /metrics "
            f"({', '.join(everyone)}).",
            hint="The metrics tell an attacker how logins, lockouts and rate limits are going; "
            "allow only the scraper's network.",
            id="authsvc.W005",
        )
    ]


# Public suffixes under which anyone may register a domain: an RP id equal to one would let
# every site beneath it use the passkeys. A short built-in list of the common ones, not the
# whole Public Suffix List (no download, no extra dependency); browsers apply the full list
# themselves and refuse such an id anyway, so this check is there to fail early and clearly.
PUBLIC_SUFFIXES = frozenset(
    {
        "com", "net", "org", "edu", "gov", "int", "mil", "io", "co", "app", "dev", "info",
        "biz", "me", "eu", "fr", "de", "uk", "co.uk", "org.uk", "ac.uk", "gov.uk", "it",
        "es", "nl", "be", "ch", "at", "se", "no", "dk", "fi", "pl", "pt", "ie", "us", "ca",
        "au", "com.au", "net.au", "org.au", "nz", "co.nz", "jp", "co.jp", "ne.jp", "cn",
        "com.cn", "in", "co.in", "br", "com.br", "ru", "ua", "za", "co.za", "mx", "com.mx",
        "ar", "com.ar", "tr", "com.tr", "kr", "co.kr", "tw", "com.tw", "hk", "com.hk", "sg",
        "com.sg", "xyz", "online", "site", "cloud", "tech", "ai", "tv", "cc", "ly", "gg",
        "github.io", "gitlab.io", "herokuapp.com", "netlify.app", "vercel.app", "pages.dev",
        "workers.dev", "web.app", "firebaseapp.com", "appspot.com", "azurewebsites.net",
        "cloudfront.net", "amazonaws.com", "blogspot.com", "fly.dev", "onrender.com",
        "localhost.localdomain", "local",
    }
)  # fmt: skip
_RP_ID_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _rp_id_malformed(rp_id: str) -> bool:
    labels = rp_id.split(".")
    if not rp_id or len(rp_id) > 253 or not all(_RP_ID_LABEL.match(label) for label in labels):
        return True
    # WebAuthn takes a domain, never an IP address.
    return all(label.isdigit() for label in labels)


def _is_loopback_host(host: str) -> bool:
    # A secure context over plain HTTP (the browser's own exception); what `make run` uses.
    return host == "localhost" or host.endswith(".localhost")


@register(Tags.security)
def check_webauthn(app_configs, **kwargs):
    """Passkeys: AUTHSVC_WEBAUTHN_RP_ID must be a domain that is the host, or a parent
    domain of the host, of every origin in AUTHSVC_WEBAUTHN_ORIGINS, and not a public
    suffix; each origin must be an exact origin, HTTPS outside debug (localhost aside).

    Errors once either variable is set. While both are left to their defaults (derived from
    AUTHSVC_FRONTEND_URL and AUTHSVC_CORS_ALLOWED_ORIGINS), the same findings are warnings:
    a deployment that does not use passkeys keeps starting, and the browser's own RP id
    check still refuses every ceremony the values do not fit.
    """
    errors = []

    def problem(msg, *, hint, id):
        if settings.AUTHSVC_WEBAUTHN_CONFIGURED:
            return Error(msg, hint=hint, id=id)
        return Warning(
            msg + " (derived from AUTHSVC_FRONTEND_URL / AUTHSVC_CORS_ALLOWED_ORIGINS)",
            hint=hint + " Set AUTHSVC_WEBAUTHN_RP_ID and AUTHSVC_WEBAUTHN_ORIGINS.",
            id=id.replace(".E", ".W"),
        )

    rp_id = settings.AUTHSVC_WEBAUTHN_RP_ID or ""
    origins = settings.AUTHSVC_WEBAUTHN_ORIGINS
    if _rp_id_malformed(rp_id):
        errors.append(
            problem(
                f"AUTHSVC_WEBAUTHN_RP_ID={rp_id!r} is not a lower-case domain name.",
                hint="Write the bare domain, e.g. example.com: no scheme, port, path or IP.",
                id="authsvc.E080",
            )
        )
    elif rp_id in PUBLIC_SUFFIXES:
        errors.append(
            problem(
                f"AUTHSVC_WEBAUTHN_RP_ID={rp_id!r} is a public suffix.",
                hint="Use your own registrable domain (example.com) or a host under it; "
                "browsers refuse a public suffix, and it would not be yours alone.",
                id="authsvc.E081",
            )
        )
    if not origins:
        errors.append(
            problem(
                "AUTHSVC_WEBAUTHN_ORIGINS is empty.",
                hint="Name the origins of the pages that offer passkeys.",
                id="authsvc.E082",
            )
        )
    for origin in origins:
        shape = _origin_problem(origin)
        host = urlsplit(origin).hostname or ""
        if shape in ("wildcard", "malformed"):
            errors.append(
                problem(
                    f"AUTHSVC_WEBAUTHN_ORIGINS holds {origin!r}, which is not an origin.",
                    hint="Write scheme://host[:port], e.g. https://app.example.com.",
                    id="authsvc.E083",
                )
            )
            continue
        if shape == "http" and not _is_loopback_host(host):
            errors.append(
                problem(
                    f"AUTHSVC_WEBAUTHN_ORIGINS holds {origin!r}, a plain-HTTP origin, "
                    "outside debug.",
                    hint="Browsers offer passkeys only to secure contexts, and a page served "
                    "over HTTP could be altered on the way; use its https:// origin.",
                    id="authsvc.E084",
                )
            )
        if rp_id and host != rp_id and not host.endswith("." + rp_id):
            errors.append(
                problem(
                    f"AUTHSVC_WEBAUTHN_RP_ID={rp_id!r} is not {host!r} nor a parent domain "
                    f"of it (origin {origin!r}).",
                    hint="The browser would refuse every ceremony from that origin. Set the "
                    "RP id to the common registrable domain of all the origins.",
                    id="authsvc.E085",
                )
            )
    return errors
