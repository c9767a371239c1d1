"""The outbox: each event for other services is a row written in the same transaction as the
change it describes, so a rolled-back change publishes nothing and a committed one is never
lost. The relay (audit/relay.py) publishes the rows to the Redis Stream afterwards.

The row goes through the caller's connection: inside the caller's transaction when there is
one, at once (autocommit) when there is none, never on a connection of its own, so it can
never outlive a rollback nor exist without its change.

Sessions report their own events (`sessions_store.services`: one `session.created` per
session, one `session.revoked` per session actually revoked, whatever the path). The
user-level events come from `record` (audit/events.py) through `RECORDED`.
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from audit.event_types import EVENT_TYPES, data_fields
from authsvc import clock, metrics
from authsvc.batching import delete_in_batches


def _by(details: dict) -> str | None:
    return details.get("by")


# Internal event names (`record`'s first argument) that other services hear about, with the
# type they are published as and the `data` built from `record`'s details. Never the details
# themselves: they hold things (a ban's free-text reason, a client id) the stream must not.
RECORDED = {
    "user_registered": ("user.registered", lambda d: {"method": "password"}),
    "google_account_created": ("user.registered", lambda d: {"method": "google"}),
    "user_banned": ("user.banned", lambda d: {"until": d.get("until"), "by": _by(d)}),
    "user_unbanned": ("user.unbanned", lambda d: {"by": _by(d), "expired": False}),
    "ban_expired": ("user.unbanned", lambda d: {"by": None, "expired": True}),
    "roles_changed": (
        "user.roles_changed",
        lambda d: {
            "roles": sorted(d.get("after") or []),
            "previous_roles": sorted(d.get("before") or []),
            "by": _by(d),
        },
    ),
    "password_changed": (
        "password.changed",
        lambda d: {"by": None, "sessions_revoked": d.get("revoked", 0)},
    ),
    "password_set": (
        "password.changed",
        lambda d: {"by": _by(d), "sessions_revoked": d.get("revoked", 0)},
    ),
    "password_reset": ("password.reset", lambda d: {"sessions_revoked": d.get("revoked", 0)}),
    "email_changed": ("email.changed", lambda d: {"sessions_revoked": d.get("revoked", 0)}),
    "mfa_enabled": ("mfa.enabled", lambda d: {"method": "totp"}),
    "mfa_disabled": ("mfa.disabled", lambda d: {"by": None}),
    "mfa_reset": ("mfa.disabled", lambda d: {"by": _by(d)}),
    "refresh_reuse_detected": ("refresh_token.reused", lambda d: {}),
}


def events_enabled() -> bool:
    return settings.AUTHSVC_EVENTS_ENABLED


def outbox_record(event: str, *, user_id, sid, details: dict, at: datetime) -> None:
    """The hook in `record`: the outbox row of an internal event other services hear of."""
    mapped = RECORDED.get(event)
    if mapped is None:
        return
    event_type, build = mapped
    outbox_append(event_type, user_id=user_id, session_id=sid, data=build(details), at=at)


def outbox_append(
    event_type: str, *, user_id, session_id=None, data: dict, at: datetime | None = None
) -> None:
    outbox_append_many(event_type, [(user_id, session_id, data)], at=at)


def outbox_append_many(event_type: str, events: list[tuple], *, at: datetime | None = None) -> None:
    """One row per `(user_id, session_id, data)`, in one INSERT, in the caller's transaction."""
    from audit.models import OutboxEvent

    # Counted whether or not other services hear of them: the one place every session's
    # start and end passes, with its kind or reason.
    metrics.session_events(event_type, events)
    if not events or not events_enabled():
        return
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    expected = data_fields(event_type)
    rows = []
    at = at or clock.now()
    for user_id, session_id, data in events:
        if set(data) != expected:
            raise ValueError(f"{event_type} data must have exactly {sorted(expected)}")
        rows.append(
            OutboxEvent(
                event_id=uuid.uuid4(),
                type=event_type,
                occurred_at=at,
                user_id=str(user_id) if user_id else "",
                session_id=str(session_id) if session_id else "",
                data=data,
            )
        )
    OutboxEvent.objects.bulk_create(rows)
    if settings.AUTHSVC_EVENTS_FAST_PATH:
        from audit.fastpath import relay_wake

        # Runs at once without a transaction, after the commit within one, never after a
        # rollback; it only sets a flag, so it can neither block nor fail the request.
        transaction.on_commit(relay_wake, robust=True)


def outbox_purge(*, now: datetime, retention: timedelta, batch_size: int) -> int:
    """Delete rows published more than `retention` ago; unsent rows are never deleted."""
    from audit.models import OutboxEvent

    sent = OutboxEvent.objects.filter(sent_at__lt=now - retention)
    return delete_in_batches(sent, batch_size=batch_size)
