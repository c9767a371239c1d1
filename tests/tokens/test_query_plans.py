"""The hot queries use an index: EXPLAIN on tables big enough for the planner to care.

On a table of a few rows PostgreSQL rightly prefers a sequential scan, so these tests seed
a few thousand rows and ANALYZE first; the plans are the planner's free choice, not forced
with `enable_seqscan = off`.
"""

import uuid
from datetime import timedelta

import pytest
from django.db import connection

from accounts.models import User
from authsvc import clock
from sessions_store.models import Session
from tokens.models import RefreshToken
from tokens.refresh import (
    _MARK_USED_SQL,
    _SESSION_EXTEND_SQL,
    _SUCCESSOR_REDELIVER_SQL,
    _mark_used_params,
    refresh_token_hash,
)

pytestmark = pytest.mark.django_db

ROWS = 5000


@pytest.fixture
def seeded():
    now = clock.now()
    users = User.objects.bulk_create(
        User(email=f"plan{i}@example.com", password="!", name="") for i in range(ROWS)
    )
    sessions = Session.objects.bulk_create(
        Session(
            user=user,
            created_at=now,
            last_used_at=now,
            expires_at=now + timedelta(days=7),
            amr=["pwd"],
        )
        for user in users
    )
    RefreshToken.objects.bulk_create(
        RefreshToken(
            session=session,
            token_hash=refresh_token_hash(f"plan-{i}"),
            created_at=now,
            expires_at=now + timedelta(days=7),
        )
        for i, session in enumerate(sessions)
    )
    with connection.cursor() as cursor:
        for table in ("accounts_user", "sessions_store_session", "tokens_refreshtoken"):
            cursor.execute(f"ANALYZE {table}")
    return users, sessions


def plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def assert_no_seq_scan(text: str) -> None:
    assert "Seq Scan" not in text, text


def test_rotation_finds_token_session_and_user_by_index(seeded):
    text = plan(_MARK_USED_SQL, _mark_used_params(raw="plan-17", now=clock.now()))
    assert_no_seq_scan(text)
    assert "token_hash" in text


def test_rotation_finds_the_successor_and_the_session_by_index(seeded):
    _, sessions = seeded
    now = clock.now()
    redeliver = plan(
        _SUCCESSOR_REDELIVER_SQL,
        {"successor_hash": refresh_token_hash("plan-x"), "token_id": 1, "now": now},
    )
    assert_no_seq_scan(redeliver)
    assert "token_hash" in redeliver
    extend = plan(
        _SESSION_EXTEND_SQL,
        {"now": now, "expires_at": now, "ip": None, "user_agent": "", "session_id": sessions[5].pk},
    )
    assert_no_seq_scan(extend)
    assert "sessions_store_session_pkey" in extend


def test_snapshot_fallback_reads_session_by_primary_key(seeded):
    _, sessions = seeded
    query = Session.objects.select_related("user").filter(pk=sessions[3].pk)
    assert_no_seq_scan(query.explain())


def test_logout_by_refresh_token_uses_the_hash_index(seeded):
    query = RefreshToken.objects.filter(token_hash=refresh_token_hash("plan-3")).values_list(
        "session_id", flat=True
    )
    assert_no_seq_scan(query.explain())


def test_login_finds_the_user_by_email_index(seeded):
    assert_no_seq_scan(User.objects.filter(email="plan42@example.com").explain())


def test_live_sessions_of_a_user_use_the_user_index(seeded):
    users, _ = seeded
    query = Session.objects.filter(
        user_id=users[9].pk, revoked_at__isnull=True, expires_at__gt=clock.now()
    )
    assert_no_seq_scan(query.explain())


def test_unknown_session_id_is_an_index_probe(seeded):
    assert_no_seq_scan(Session.objects.filter(pk=uuid.uuid4()).explain())
