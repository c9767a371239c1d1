"""System checks of the tokens app."""

import sqlite3

from django.conf import settings
from django.core.checks import Error, Tags, register

# The rotation's statements (`tokens.refresh`) need UPDATE ... FROM (3.33) and RETURNING
# (3.35); an older library would fail on the first refresh, not at start-up.
SQLITE_MIN_VERSION = (3, 35, 0)


def sqlite_version_errors(databases: dict, version: tuple[int, ...]) -> list[Error]:
    uses_sqlite = any(db.get("ENGINE", "").endswith("sqlite3") for db in databases.values())
    if not uses_sqlite or version >= SQLITE_MIN_VERSION:
        return []
    found = ".".join(map(str, version))
    return [
        Error(
            f"SQLite {found} is too old: refresh-token rotation needs SQLite 3.35 or newer.",
            hint="Use a Python linked against a newer SQLite, or PostgreSQL (DATABASE_URL).",
            id="tokens.E001",
        )
    ]


@register(Tags.compatibility)
def check_sqlite_version(app_configs, **kwargs):
    return sqlite_version_errors(settings.DATABASES, sqlite3.sqlite_version_info)
