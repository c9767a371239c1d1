"""Liveness and readiness probes, the metrics and the OpenAPI document: plain Django views,
no authentication, no DRF."""

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import DatabaseError
from django.http import HttpResponse, JsonResponse
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from audit.metrics import OutboxLagCollector
from authsvc import metrics
from authsvc.apidocs import openapi_yaml
from authsvc.errors import error_body
from authsvc.http import get_only, response_no_store
from authsvc.schema import ERROR_REF, operation
from sessions_store.backends import get_session_store

logger = logging.getLogger(__name__)

# The contract: /readyz answers within 2 s whatever its dependencies do; a check that has
# not answered by then counts as unavailable.
READY_CHECKS_WITHIN_SECONDS = 1.5


def not_found(request):
    return JsonResponse(error_body("not_found"), status=404)


PROBES_NOTE = "Exempt from the HTTPS redirect, so probes may use plain HTTP."
CHECK_STATE = {"type": "string", "enum": ["ok", "unavailable"]}
READINESS_CHECKS = {
    "type": "object",
    "required": ["database", "session_store"],
    "properties": {"database": CHECK_STATE, "session_store": CHECK_STATE},
}


@operation(
    tags=["operations"],
    operationId="healthz",
    summary="Liveness",
    description=f"200 while the process runs. {PROBES_NOTE}",
    responses={
        "200": {
            "description": "Alive.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["status"],
                        "properties": {"status": {"type": "string", "const": "ok"}},
                    }
                }
            },
        }
    },
)
@get_only
def healthz(request):
    return JsonResponse({"status": "ok"})


@operation(
    tags=["operations"],
    operationId="readyz",
    summary="Readiness",
    description=f"""\
Answers within 2 s whatever the dependencies do (a check that has not answered in
1.5 s counts as unavailable). 200 while PostgreSQL answers: `status` is `ready`, or
`degraded` when the session store (Redis) does not, since every request then still
works from the database and a balancer must not pull every instance at once. 503
when PostgreSQL does not answer. {PROBES_NOTE}
""",
    responses={
        "200": {
            "description": "PostgreSQL answers; `checks` says whether the session store does.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["status", "checks"],
                        "properties": {
                            "status": {"type": "string", "enum": ["ready", "degraded"]},
                            "checks": READINESS_CHECKS,
                        },
                    },
                    "examples": {
                        "ready": {
                            "value": {
                                "status": "ready",
                                "checks": {"database": "ok", "session_store": "ok"},
                            }
                        },
                        "degraded": {
                            "value": {
                                "status": "degraded",
                                "checks": {"database": "ok", "session_store": "unavailable"},
                            }
                        },
                    },
                }
            },
        },
        "503": {
            "description": "PostgreSQL does not answer; `detail` and `checks` name what does not.",
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [
                            ERROR_REF,
                            {
                                "type": "object",
                                "required": ["checks"],
                                "properties": {"checks": READINESS_CHECKS},
                            },
                        ]
                    },
                    "example": {
                        "error": "not_ready",
                        "detail": "Not ready: database unavailable.",
                        "checks": {"database": "unavailable", "session_store": "ok"},
                    },
                }
            },
        },
    },
)
@get_only
def readyz(request):
    """200 while PostgreSQL answers, "degraded" when only the session store does not (every
    request still works from the database, so a balancer must not pull every instance);
    503 naming the database when it does not."""
    checks = _run_checks(
        {"database": _database_answers, "session_store": _session_store_answers},
        within=READY_CHECKS_WITHIN_SECONDS,
    )
    if checks["database"] != "ok":
        failing = [name for name, state in checks.items() if state != "ok"]
        detail = "Not ready: " + ", ".join(f"{name} unavailable" for name in failing) + "."
        return JsonResponse(error_body("not_ready", detail, checks=checks), status=503)
    status = "ready" if checks["session_store"] == "ok" else "degraded"
    return JsonResponse({"status": status, "checks": checks})


def _run_checks(checks: dict[str, Callable[[], None]], *, within: float) -> dict[str, str]:
    """Run the checks side by side, each in a thread of its own so that none can hold the
    answer past `within`; a check that raised or has not returned by then is unavailable."""
    results: dict[str, str] = {}

    def run(name: str, check: Callable[[], None]) -> None:
        try:
            check()
        except Exception as exc:  # any failure means "not ready", and is logged
            logger.warning("readiness check %s failed: %s", name, exc)
            results[name] = "unavailable"
        else:
            results[name] = "ok"

    # Each in a copy of the request's context: a failing check's line names the request.
    threads = [
        threading.Thread(
            target=contextvars.copy_context().run,
            args=(run, *item),
            name=f"authsvc-readyz-{item[0]}",
            daemon=True,
        )
        for item in checks.items()
    ]
    deadline = time.monotonic() + within
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {name: results.get(name, "unavailable") for name in checks}


def _database_answers() -> None:
    """A connection of its own (it also proves new connections open), closed at once.
    On PostgreSQL it is refused without a round trip while this process's breaker is open,
    and its round trips are bounded like any request's (`authsvc.postgres`)."""
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with own.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        with contextlib.suppress(DatabaseError):
            own.close()


def _session_store_answers() -> None:
    get_session_store().ping()


@operation(
    tags=["operations"],
    operationId="metrics",
    summary="Prometheus metrics",
    description="""\
The Prometheus text exposition of every gunicorn worker of this instance: request
latency by route, logins, 2FA, refreshes, revocations, rate-limit refusals, the events
outbox's lag (docs/operators.md, "Metrics", lists them). Only clients whose IP (the
one `AUTHSVC_TRUSTED_PROXY_COUNT` designates) is in `AUTHSVC_METRICS_ALLOWED_IPS`
(default loopback only) may read it; anyone else gets `403 permission_denied`.
Exempt from the HTTPS redirect, so a scraper may use plain HTTP.
""",
    responses={
        "200": {
            "description": "The metrics.",
            "content": {
                "text/plain": {
                    "schema": {
                        "type": "string",
                        "description": "Prometheus text exposition format 0.0.4.",
                    }
                }
            },
        },
        "403": {
            "description": "The client IP is not in `AUTHSVC_METRICS_ALLOWED_IPS`.",
            "content": {
                "application/json": {
                    "schema": ERROR_REF,
                    "example": {
                        "error": "permission_denied",
                        "detail": "You do not have permission to perform this action.",
                    },
                }
            },
        },
    },
)
@get_only
def metrics_view(request):
    if not metrics.scrape_allowed(request):
        return JsonResponse(error_body("permission_denied"), status=403)
    body = metrics.exposition(OutboxLagCollector())
    return response_no_store(HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4))


@operation(
    tags=["operations"],
    operationId="openapi",
    summary="This document",
    description="Other methods than GET and HEAD answer `405 method_not_allowed`.",
    responses={
        "200": {
            "description": "The OpenAPI document.",
            "content": {
                "application/yaml": {
                    "schema": {"type": "object", "description": "The document; a YAML mapping."}
                }
            },
        }
    },
)
@get_only
def openapi_view(request):
    return HttpResponse(openapi_yaml(), content_type="application/yaml")
