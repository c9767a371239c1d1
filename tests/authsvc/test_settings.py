"""Production settings refuse unsafe starts and pass Django's deployment checks."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.live import environ_without_service

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, env_overrides, tmp_path):
    env = environ_without_service()
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "authsvc.settings.production",
            "DATABASE_URL": f"sqlite:///{tmp_path}/check.sqlite3",
            "AUTHSVC_KEYS_DIR": str(tmp_path / "keys"),
        }
    )
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_refuses_to_start_without_a_secret_key(tmp_path):
    result = manage("check", env_overrides={}, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_production_settings_pass_check_deploy(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={
            "DJANGO_SECRET_KEY": "k" * 20 + "-production-like-secret-9f8e7d6c5b4a3",
            "REDIS_URL": "redis://127.0.0.1:6379/15",
        },
        tmp_path=tmp_path,
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("unsafe", "check_id"),
    [
        ({"AUTHSVC_COOKIE_SECURE": "0"}, "authsvc.E002"),  # cookies without Secure
        ({"AUTHSVC_JWT_ALGORITHM": "HS256"}, "authsvc.E001"),  # a shared-secret algorithm
        ({"AUTHSVC_ARGON2_MEMORY_KIB": "1024"}, "authsvc.E011"),  # argon2 under OWASP's floor
        ({"AUTHSVC_SESSION_MAX_AGE_SECONDS": "600"}, "authsvc.E004"),  # below the access TTL
        ({"AUTHSVC_DB_TIMEOUT_SECONDS": "300"}, "authsvc.E020"),  # a database wait is a hang
        # A Redis timeout that lets a partition hold every worker, or fails a healthy Redis.
        ({"AUTHSVC_REDIS_TIMEOUT_MS": "30000"}, "authsvc.E040"),
        ({"AUTHSVC_REDIS_TIMEOUT_MS": "2"}, "authsvc.E040"),
        ({"AUTHSVC_REDIS_BREAKER_SECONDS": "3600"}, "authsvc.E041"),
        # A revocation made during a Redis outage missed by other processes for minutes.
        ({"AUTHSVC_REVOCATION_SYNC_SECONDS": "300"}, "authsvc.E042"),
        # More replicas than a master has: every revocation would wait, then be pending.
        ({"AUTHSVC_REDIS_REVOCATION_REPLICAS": "9"}, "authsvc.E043"),
        # Front ends on other origins: exact HTTPS origins only outside debug.
        ({"AUTHSVC_CORS_ALLOWED_ORIGINS": "*"}, "authsvc.E050"),
        ({"AUTHSVC_CORS_ALLOWED_ORIGINS": "https://*.example.com"}, "authsvc.E050"),
        ({"AUTHSVC_CORS_ALLOWED_ORIGINS": "https://app.example.com/login"}, "authsvc.E051"),
        ({"AUTHSVC_CORS_ALLOWED_ORIGINS": "app.example.com"}, "authsvc.E051"),
        ({"AUTHSVC_CORS_ALLOWED_ORIGINS": "http://app.example.com"}, "authsvc.E052"),
        # SameSite=None without Secure: browsers drop the cookies.
        ({"AUTHSVC_COOKIE_CROSS_SITE": "1", "AUTHSVC_COOKIE_SECURE": "0"}, "authsvc.E053"),
    ],
)
def test_unsafe_values_are_refused(tmp_path, unsafe, check_id):
    result = manage(
        "check", env_overrides={"DJANGO_SECRET_KEY": "k" * 50, **unsafe}, tmp_path=tmp_path
    )

    assert result.returncode != 0
    assert check_id in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REDIS_URL": "memcached://cache:11211"}, "REDIS_URL must start with one of"),
        ({"REDIS_URL": "redis+sentinel://s1:26379,s2:26379"}, "must name the master"),
        ({"REDIS_URL": "redis+cluster://n1:7000/3"}, "db 0 only"),
        ({"AUTHSVC_DB_POOLER": "pgpool"}, "AUTHSVC_DB_POOLER must be empty or pgbouncer"),
    ],
)
def test_a_malformed_engine_setting_stops_the_start(tmp_path, env, message):
    result = manage(
        "check", env_overrides={"DJANGO_SECRET_KEY": "k" * 50, **env}, tmp_path=tmp_path
    )

    assert result.returncode != 0
    assert message in result.stderr


def test_production_without_redis_is_warned_about(tmp_path):
    result = manage(
        "check", "--deploy", env_overrides={"DJANGO_SECRET_KEY": "k" * 50}, tmp_path=tmp_path
    )

    assert "authsvc.W001" in result.stderr + result.stdout


def test_an_admin_without_a_second_factor_is_warned_about(tmp_path):
    result = manage(
        "check",
        "--deploy",
        env_overrides={"DJANGO_SECRET_KEY": "k" * 50, "AUTHSVC_ADMIN_REQUIRE_2FA": "0"},
        tmp_path=tmp_path,
    )

    assert "authsvc.W003" in result.stderr + result.stdout


def test_the_benchmark_routes_are_warned_about(tmp_path):
    result = manage(
        "check",
        "--deploy",
        env_overrides={"DJANGO_SECRET_KEY": "k" * 50, "AUTHSVC_BENCH": "1"},
        tmp_path=tmp_path,
    )
    quiet = manage(
        "check", "--deploy", env_overrides={"DJANGO_SECRET_KEY": "k" * 50}, tmp_path=tmp_path
    )

    assert "authsvc.W007" in result.stderr + result.stdout
    assert "authsvc.W007" not in quiet.stderr + quiet.stdout


def test_the_admin_requires_a_second_factor_unless_debug():
    assert settings.AUTHSVC_ADMIN_REQUIRE_2FA


def test_a_database_timeout_under_a_second_is_refused(tmp_path):
    result = manage(
        "check",
        env_overrides={"DJANGO_SECRET_KEY": "k" * 50, "AUTHSVC_DB_TIMEOUT_SECONDS": "0"},
        tmp_path=tmp_path,
    )

    assert result.returncode != 0
    assert "AUTHSVC_DB_TIMEOUT_SECONDS must be at least 1" in result.stderr


def test_a_long_database_timeout_is_warned_about(tmp_path):
    result = manage(
        "check",
        env_overrides={"DJANGO_SECRET_KEY": "k" * 50, "AUTHSVC_DB_TIMEOUT_SECONDS": "20"},
        tmp_path=tmp_path,
    )

    assert result.returncode == 0
    assert "authsvc.W004" in result.stderr + result.stdout


def test_the_database_timeout_bounds_every_postgresql_wait():
    from authsvc.settings.env import database_from_url

    entry = database_from_url(
        "postgres://u@db:5432/authsvc?connect_timeout=9", base_dir=ROOT, timeout_seconds=3
    )

    assert entry["ENGINE"] == "authsvc.postgres"
    options = entry["OPTIONS"]
    assert options["connect_timeout"] == "9"  # the URL's own parameter wins
    assert options["tcp_user_timeout"] == "3000"
    assert options["keepalives"] == "1"
    # The server ends a statement first (2.25 s), the watchdog cuts a round trip the server
    # could not end (2.75 s), and the request has answered 503 by 3 s.
    assert options["options"] == (
        "-c statement_timeout=2250 -c lock_timeout=2250"
        " -c idle_in_transaction_session_timeout=12000"
    )
    assert (
        database_from_url("postgres://u@db/a", base_dir=ROOT, timeout_seconds=5)["OPTIONS"][
            "connect_timeout"
        ]
        == "4"
    )


def test_the_test_database_runs_with_the_server_side_timeouts(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        statement_timeout = cursor.fetchone()[0]
        cursor.execute("SHOW lock_timeout")
        lock_timeout = cursor.fetchone()[0]

    # Below AUTHSVC_DB_TIMEOUT_SECONDS, so a slow statement ends in time for the 503.
    assert statement_timeout == lock_timeout
    assert statement_timeout.endswith("ms")
    assert int(statement_timeout[:-2]) < settings.AUTHSVC_DB_TIMEOUT_SECONDS * 1000


@pytest.mark.parametrize(
    "path",
    [
        "/bench/json",
        "/bench/drf",
        "/bench/least/login",
        "/bench/least/self",
        "/bench/least/refresh",
    ],
)
def test_bench_floors_are_not_mounted_by_default(client, path):
    assert not settings.AUTHSVC_BENCH
    assert client.get(path).status_code == 404


def test_a_local_http_front_end_is_accepted_in_debug(tmp_path):
    """`make run` beside a development server such as Vite's on http://localhost:5173."""
    result = manage(
        "check",
        env_overrides={
            "DJANGO_DEBUG": "1",
            "AUTHSVC_CORS_ALLOWED_ORIGINS": "http://localhost:5173,https://app.example.com",
        },
        tmp_path=tmp_path,
    )

    assert result.returncode == 0, result.stderr
