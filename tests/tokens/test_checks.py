"""The tokens app's system checks."""

from django.core.checks import registry

from tokens.checks import check_sqlite_version, sqlite_version_errors

SQLITE = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
POSTGRES = {"default": {"ENGINE": "authsvc.postgres", "NAME": "authsvc"}}


def test_a_sqlite_older_than_the_rotation_needs_is_refused():
    errors = sqlite_version_errors(SQLITE, (3, 34, 1))

    assert [error.id for error in errors] == ["tokens.E001"]
    assert "3.34.1" in errors[0].msg


def test_sqlite_from_3_35_and_postgresql_pass():
    assert sqlite_version_errors(SQLITE, (3, 35, 0)) == []
    assert sqlite_version_errors(SQLITE, (3, 46, 1)) == []
    assert sqlite_version_errors(POSTGRES, (3, 7, 17)) == []


def test_the_check_runs_with_every_management_command():
    assert check_sqlite_version in registry.registry.get_checks(include_deployment_checks=False)
    assert check_sqlite_version(None) == []  # this Python's SQLite, today's settings
