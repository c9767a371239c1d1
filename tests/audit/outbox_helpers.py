"""Reading the outbox and the stream in the outbox tests."""

import json

import redis
from django.conf import settings

from audit.models import OutboxEvent


def outbox(event_type=None) -> list[OutboxEvent]:
    rows = OutboxEvent.objects.order_by("id")
    return list(rows.filter(type=event_type) if event_type else rows)


def stream_entries(client=None) -> list[dict]:
    """The stream's entries, oldest first, fields decoded (`data` parsed)."""
    client = client or redis.Redis.from_url(settings.REDIS_URL)
    entries = []
    for _, fields in client.xrange(settings.AUTHSVC_EVENTS_STREAM):
        entry = {key.decode(): value.decode() for key, value in fields.items()}
        entry["data"] = json.loads(entry["data"])
        entries.append(entry)
    return entries


def reuse_refresh_token(victim, thief, clock) -> None:
    """A stolen refresh token presented after the victim's chain went on: reuse detected."""
    stolen = victim.cookie("refresh_token")
    assert victim.post_json("/auth/refresh/").status_code == 200
    clock.advance(minutes=15)
    assert victim.post_json("/auth/refresh/").status_code == 200
    clock.advance(seconds=6)
    thief.cookies["refresh_token"] = stolen
    assert thief.post_json("/auth/refresh/").status_code == 401
