"""The bench's data: a fresh database, COPY-seeded users, sessions and refresh tokens,
snapshots pipelined into Redis, expired tokens for `purge_expired`, and the token files
the wrk scripts read."""

import hashlib
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.config import (
    PASSWORD,
    REFRESH_CHAINS,
    SELF_TOKENS,
)


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def bench_redis():
    """A client of the bench's Redis db with room for big pipelines; the service's own
    client gives up after one second, on purpose."""
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=120)


def user_id(i: int) -> uuid.UUID:
    return uuid.UUID(int=(1 << 64) | i)


def session_id(i: int) -> uuid.UUID:
    return uuid.UUID(int=(2 << 64) | i)


def raw_refresh(i: int) -> str:
    """The load generator's refresh token of seeded session i; only its SHA-256 is stored."""
    return "bench" + hashlib.sha256(f"bench-refresh-{i}".encode()).hexdigest()[:40]


def seed_users(n: int) -> dict:
    """COPY n users, n sessions and n refresh tokens; pipeline n snapshots into Redis."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from sessions_store.backends.base import Snapshot
    from sessions_store.backends.redis import SESSION_KEY, USER_KEY, user_index_ttl_seconds

    now = datetime.now(tz=UTC)
    expires = now + timedelta(days=7)
    # One real argon2id hash for every user: hashing a million passwords would take hours.
    password = make_password(PASSWORD)
    started = time.perf_counter()
    # COPY and ANALYZE of a million rows take longer than a request may wait on PostgreSQL.
    with connection.unbounded(), connection.cursor() as cursor:
        with connection.connection.cursor() as cur:  # psycopg's own cursor, for COPY
            with cur.copy(
                "COPY accounts_user (id, password, is_superuser, email, name, email_verified,"
                " is_active, is_staff, date_joined, ban_reason) FROM STDIN"
            ) as copy:
                for i in range(n):
                    copy.write_row(
                        (
                            user_id(i),
                            password,
                            False,
                            f"bench{i}@example.com",
                            "Bench User",
                            True,
                            True,
                            False,
                            now,
                            "",
                        )
                    )
            with cur.copy(
                "COPY sessions_store_session (id, user_id, created_at, last_used_at, expires_at,"
                " ip, user_agent, amr, revoked_reason, auth_time, kind) FROM STDIN"
            ) as copy:
                for i in range(n):
                    copy.write_row(
                        (
                            session_id(i),
                            user_id(i),
                            now,
                            now,
                            expires,
                            "127.0.0.1",
                            "bench",
                            '["pwd"]',
                            "",
                            now,
                            "api",
                        )
                    )
            with cur.copy(
                "COPY tokens_refreshtoken (session_id, token_hash, created_at, expires_at)"
                " FROM STDIN"
            ) as copy:
                for i in range(n):
                    digest = hashlib.sha256(raw_refresh(i).encode()).hexdigest()
                    copy.write_row((session_id(i), digest, now, expires))
        for table in ("accounts_user", "sessions_store_session", "tokens_refreshtoken"):
            cursor.execute(f"ANALYZE {table}")
        cursor.execute("SELECT pg_total_relation_size('tokens_refreshtoken')")
        token_bytes = cursor.fetchone()[0]
        cursor.execute("SELECT pg_total_relation_size('sessions_store_session')")
        session_bytes = cursor.fetchone()[0]
    pg_seconds = time.perf_counter() - started

    client = bench_redis()
    client.flushdb()
    before = client.info("memory")["used_memory"]
    started = time.perf_counter()
    date_joined = now.isoformat()
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        sid, uid = str(session_id(i)), str(user_id(i))
        snapshot = Snapshot(
            sid=sid,
            user_id=uid,
            email=f"bench{i}@example.com",
            name="Bench User",
            roles=[],
            email_verified=True,
            mfa_enabled=False,
            date_joined=date_joined,
            amr=["pwd"],
            auth_time=int(now.timestamp()),
        )
        # Longer than the service's 15 minutes so a 1M run's snapshots outlive the run.
        pipe.set(SESSION_KEY.format(sid), snapshot.to_json(), ex=3600)
        pipe.hset(USER_KEY.format(uid), sid, "")
        pipe.expire(USER_KEY.format(uid), user_index_ttl_seconds())
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    redis_seconds = time.perf_counter() - started
    after = client.info("memory")["used_memory"]
    return {
        "users": n,
        "postgres_seed_seconds": round(pg_seconds, 2),
        "redis_seed_seconds": round(redis_seconds, 2),
        "bytes_per_refresh_token": round(token_bytes / n, 1),
        "bytes_per_session_row": round(session_bytes / n, 1),
        "redis_bytes_per_session": round((after - before) / n, 1),
    }


def seed_dead_refresh_tokens(n: int, count: int) -> int:
    """COPY `count` refresh tokens that expired yesterday onto the seeded sessions: the work
    `purge_expired` does while the refresh phase beside it runs."""
    from django.db import connection

    now = datetime.now(tz=UTC)
    with connection.unbounded(), connection.cursor(), connection.connection.cursor() as cur:
        with cur.copy(
            "COPY tokens_refreshtoken (session_id, token_hash, created_at, expires_at) FROM STDIN"
        ) as copy:
            for j in range(count):
                digest = hashlib.sha256(f"bench-dead-{j}".encode()).hexdigest()
                copy.write_row(
                    (session_id(j % n), digest, now - timedelta(days=8), now - timedelta(days=1))
                )
        cur.execute("ANALYZE tokens_refreshtoken")
    return count


def write_self_tokens(n: int, path: Path) -> None:
    """Access tokens of sessions spread over the whole seeded range."""
    from tokens.access import access_token_issue

    chosen = random.sample(range(n), min(n, SELF_TOKENS))
    lines = []
    for i in chosen:
        token, _ = access_token_issue(
            user_id=str(user_id(i)),
            sid=str(session_id(i)),
            roles=[],
            email_verified=True,
            amr=["pwd"],
        )
        lines.append(token)
    path.write_text("\n".join(lines) + "\n")


class Chains:
    """Hands each refresh phase sessions no earlier phase used: a reused token would
    (rightly) revoke its session."""

    def __init__(self, n: int):
        self.free = random.sample(range(n), min(n, 64 * REFRESH_CHAINS))

    def take(self, path: Path) -> None:
        chosen, self.free = self.free[:REFRESH_CHAINS], self.free[REFRESH_CHAINS:]
        path.write_text("\n".join(raw_refresh(i) for i in chosen) + "\n")
