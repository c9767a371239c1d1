"""Prometheus metrics: what `GET /metrics` exposes (docs/operators.md#metrics lists them).

Counting is cheap and happens in few places: the request histogram in `RequestMetrics` (the
outermost middleware), the security counters from the events every flow already records
(`event_recorded`, called by `audit.events.record`), the session counters from the outbox's
session events (`session_events`), rate-limit refusals where `RateLimited` is made, and a
handful of direct counts where no event exists (an invalid refresh token, 2FA code checks,
JWKS and introspection answers). Nothing here touches the database; the outbox lag is
computed at scrape time (`audit.metrics`).

Under gunicorn every worker counts in its own files in PROMETHEUS_MULTIPROC_DIR
(prometheus_client's multiprocess mode, set up by gunicorn.conf.py) and the scrape adds them
up; without it (runserver, tests) the default registry of the one process is used.

This module is one of authsvc's shared modules, below `audit`: it imports no app.
"""

import collections
import ipaddress
import os
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from authsvc.http import client_ip

# No `_created` series: multiprocess mode has none, so one process must not have them either
# (the same exposition whether or not gunicorn runs it).
disable_created_metrics()

if settings.PROMETHEUS_MULTIPROC_DIR:
    # Set for a whole container, it also reaches `manage.py` commands that gunicorn.conf.py
    # never prepared a directory for; their counters (the relay's) need one to start.
    os.makedirs(settings.PROMETHEUS_MULTIPROC_DIR, mode=0o700, exist_ok=True)

# --- Requests -------------------------------------------------------------------------------

# A request no URL pattern matched, or answered before routing (HTTPS redirect, a static
# file, a CORS preflight): one fixed label, so a scanner's paths cannot grow the series.
UNMATCHED_ROUTE = "<unmatched>"
# Any other method (a client may send anything) is counted as "other", for the same reason.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_DURATION = Histogram(
    "authsvc_http_request_duration_seconds",
    "Time from the first middleware to the response, by route pattern, method and status.",
    ["route", "method", "status"],
)

# Summed over the live workers: a worker that died mid-request takes its count with it
# (gunicorn.conf.py's child_exit hook removes its file).
REQUESTS_IN_PROGRESS = Gauge(
    "authsvc_http_requests_in_progress",
    "Requests being answered now, over every live worker.",
    multiprocess_mode="livesum",
)

# --- Authentication -------------------------------------------------------------------------

LOGINS = Counter(
    "authsvc_logins",
    "Login attempts at the API's doors (password, email code, 2FA step, Google), by outcome.",
    ["outcome"],
)
ADMIN_LOGINS = Counter(
    "authsvc_admin_logins", "Admin site login steps (password or 2FA), by outcome.", ["outcome"]
)
LOGIN_LOCKOUTS = Counter(
    "authsvc_login_lockouts", "Failed passwords that put an account into the lockout backoff."
)
MFA_VERIFICATIONS = Counter(
    "authsvc_mfa_verifications",
    "Second-factor code checks, by purpose (login, reauth, ...) and outcome.",
    ["purpose", "outcome"],
)
MFA_BACKUP_CODES_USED = Counter(
    "authsvc_mfa_backup_codes_used", "Second-factor checks passed with a backup code."
)
REFRESHES = Counter(
    "authsvc_refreshes", "Refresh-token rotations, by outcome (success, invalid).", ["outcome"]
)
REFRESH_REUSE = Counter(
    "authsvc_refresh_token_reuse_detections",
    "A used refresh token presented again outside the grace window: its session is revoked.",
)
SESSIONS_CREATED = Counter(
    "authsvc_sessions_created", "Sessions started, by kind (api, admin).", ["kind"]
)
SESSION_REVOCATIONS = Counter(
    "authsvc_session_revocations",
    "Sessions ended before their expiry, by reason (logout, logout_all, banned, ...).",
    ["reason"],
)
RATE_LIMITED = Counter(
    "authsvc_rate_limited",
    "Requests refused as over a limit (429), by limit group.",
    ["group"],
)
JWKS_FETCHES = Counter(
    "authsvc_jwks_fetches",
    "GET /.well-known/jwks.json answers, by result (full, not_modified).",
    ["result"],
)
SERVICE_TOKENS_ISSUED = Counter(
    "authsvc_service_tokens_issued", "Service tokens issued by the client-credentials grant."
)
SERVICE_CLIENT_AUTH_FAILURES = Counter(
    "authsvc_service_client_auth_failures",
    "Client-credentials requests with a missing, unknown, wrong or disabled credential.",
)
INTROSPECTIONS = Counter(
    "authsvc_introspections",
    "POST /auth/verify/ answers, by the token's type (access, service, none) and activity.",
    ["token_type", "active"],
)
SECURITY_EVENTS = Counter(
    "authsvc_security_events",
    "Every security event recorded (the security log's `event`), by event name.",
    ["event"],
)
# Counted by the process that publishes: a web worker's fast path (audit/fastpath.py), or
# the relay (`manage.py relay_events`), which serves them on its `--metrics-port`.
RELAY_ERRORS = Counter(
    "authsvc_events_relay_errors",
    "Failed attempts to publish the outbox to the stream (Redis or PostgreSQL down).",
)
RELAY_PUBLISHED = Counter(
    "authsvc_events_relay_published", "Outbox events the relay published to the stream."
)

# Security events whose count is a login outcome (events.record's names).
_LOGIN_OUTCOMES = {
    "login_succeeded": "success",
    "google_login": "success",
    "login_failed": "invalid_credentials",
    "login_code_failed": "invalid_code",
    "login_throttled": "locked",
    "login_mfa_required": "mfa_required",
    "passkey_login_succeeded": "success",
    "passkey_login_failed": "invalid_credential",
}
_REFUSAL_OUTCOMES = {"disabled": "disabled", "unverified": "email_not_verified"}
_ADMIN_LOGIN_OUTCOMES = {
    "admin_login_succeeded": "success",
    "admin_login_failed": "failed",
    "admin_login_mfa_required": "mfa_required",
}
# Events named like this record an attempt: counted at once, whatever the caller's
# transaction does next (audit.events.ATTEMPT_SUFFIXES, which stores them the same way).
_ATTEMPT_SUFFIXES = ("_failed", "_refused", "_detected", "_throttled", "_locked")


def _increments(event: str, details: dict) -> list:
    found = [SECURITY_EVENTS.labels(event)]
    if outcome := _LOGIN_OUTCOMES.get(event):
        found.append(LOGINS.labels(outcome))
    elif event == "login_refused":
        found.append(LOGINS.labels(_REFUSAL_OUTCOMES.get(details.get("reason"), "refused")))
    elif outcome := _ADMIN_LOGIN_OUTCOMES.get(event):
        found.append(ADMIN_LOGINS.labels(outcome))
    elif event == "login_locked":
        found.append(LOGIN_LOCKOUTS)
    elif event == "token_refreshed":
        found.append(REFRESHES.labels("success"))
    elif event == "refresh_reuse_detected":
        found.append(REFRESH_REUSE)
    elif event == "mfa_backup_code_used":
        found.append(MFA_BACKUP_CODES_USED)
    elif event == "service_token_issued":
        found.append(SERVICE_TOKENS_ISSUED)
    elif event == "service_client_auth_failed":
        found.append(SERVICE_CLIENT_AUTH_FAILURES)
    return found


def event_recorded(event: str, details: dict) -> None:
    """Count a security event (`audit.events.record`): once it is committed, as its row is,
    or at once for an attempt, which happened whatever the transaction does next."""
    counts = [(counter, 1) for counter in _increments(event, details)]
    _when_committed(lambda: _inc_all(counts), now=event.endswith(_ATTEMPT_SUFFIXES))


def session_events(event_type: str, events: list[tuple]) -> None:
    """Count the outbox's session events (`audit.outbox.outbox_append_many`): every session
    started or revoked passes there once, whatever the door, with its kind or reason.
    Counted when the caller's transaction commits: a rolled-back revocation ended nothing."""
    if event_type == "session.created":
        metric, label = SESSIONS_CREATED, "kind"
    elif event_type == "session.revoked":
        metric, label = SESSION_REVOCATIONS, "reason"
    else:
        return
    # A "log out everywhere" revokes many sessions with one reason: one increment of many.
    by_label = collections.Counter(data.get(label, "") for _, _, data in events)
    counts = [(metric.labels(value), amount) for value, amount in by_label.items()]
    _when_committed(lambda: _inc_all(counts))


def refresh_invalid() -> None:
    REFRESHES.labels("invalid").inc()


def rate_limited(group: str) -> None:
    RATE_LIMITED.labels(group).inc()


def mfa_verification(*, purpose: str, outcome: str) -> None:
    MFA_VERIFICATIONS.labels(purpose, outcome).inc()


def jwks_fetched(*, not_modified: bool) -> None:
    JWKS_FETCHES.labels("not_modified" if not_modified else "full").inc()


def introspected(*, token_type: str | None, active: bool) -> None:
    INTROSPECTIONS.labels(token_type or "none", "true" if active else "false").inc()


def relay_error() -> None:
    RELAY_ERRORS.inc()


def relay_published(count: int) -> None:
    RELAY_PUBLISHED.inc(count)


def _inc_all(counts: list[tuple]) -> None:
    for counter, amount in counts:
        counter.inc(amount)


def _when_committed(count, *, now: bool = False) -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    # The atomic blocks a test case wraps around each test are not the caller's transaction
    # (audit.events._in_transaction skips them the same way).
    if now or not any(not block._from_testcase for block in connection.atomic_blocks):
        count()
    else:
        transaction.on_commit(count, robust=True)


# --- The request histogram ------------------------------------------------------------------


def route_label(request) -> str:
    """The URL pattern that served `request` (e.g. `auth/sessions/<uuid:pk>/`), never the
    path: a bounded set of labels."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name == NOT_FOUND_URL_NAME or not match.route:
        return UNMATCHED_ROUTE
    return match.route


# The catch-all JSON 404's name in authsvc.urls: its regex would match every path.
NOT_FOUND_URL_NAME = "not-found"


class RequestMetrics:
    """The outermost middleware, so it times and sees the final status of every answer:
    the HTTPS redirect, CSRF failures, 429s, 503s and the 500s of inner middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        REQUESTS_IN_PROGRESS.inc()
        try:
            response = self.get_response(request)
        finally:
            REQUESTS_IN_PROGRESS.dec()
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUEST_DURATION.labels(route_label(request), method, str(response.status_code)).observe(
            time.perf_counter() - start
        )
        return response


# --- Who may scrape, and the scrape ---------------------------------------------------------


def scrape_allowed(request) -> bool:
    """Whether the client (behind AUTHSVC_TRUSTED_PROXY_COUNT proxies) may read /metrics."""
    ip = client_ip(request)
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in settings.AUTHSVC_METRICS_ALLOWED_IPS)


class _ThisProcess:
    """The default registry's metrics, for a registry built per scrape."""

    def collect(self):
        return REGISTRY.collect()


def exposition(*extra_collectors) -> bytes:
    """The text exposition of every worker's metrics (multiprocess mode) or this process's,
    plus `extra_collectors` (computed now, e.g. the outbox lag)."""
    registry = CollectorRegistry(auto_describe=False)
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(_ThisProcess())
    for collector in extra_collectors:
        registry.register(collector)
    return generate_latest(registry)


def serve_this_process(*, port: int, address: str):
    """Serve this process's metrics on their own port, for a process that is not behind
    gunicorn (the events relay): prometheus_client's HTTP server, in a daemon thread. It has
    no allow-list: bind it to an address only the scraper can reach."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=address, registry=REGISTRY)
