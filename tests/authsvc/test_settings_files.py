"""Secrets from files: every variable X may be given as X_FILE, the path of a file holding the
value (compose.yaml's `secrets:` mount them under /run/secrets/)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from authsvc.settings.env import env_bool, env_int, env_list, env_str
from tests.authsvc.test_settings import manage

SECRET = "s3cr3t-value-that-must-never-be-printed"


@pytest.fixture
def secret_file(tmp_path):
    def write(content: str | bytes, name: str = "secret") -> str:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return str(path)

    return write


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    for name in ("AUTHSVC_X", "AUTHSVC_X_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_the_file_gives_the_value_less_its_line_break(monkeypatch, secret_file):
    monkeypatch.setenv("AUTHSVC_X_FILE", secret_file(SECRET + "\n"))
    assert env_str("AUTHSVC_X") == SECRET

    # Written on Windows, or with no line break at all.
    monkeypatch.setenv("AUTHSVC_X_FILE", secret_file(SECRET + "\r\n"))
    assert env_str("AUTHSVC_X") == SECRET
    monkeypatch.setenv("AUTHSVC_X_FILE", secret_file(SECRET))
    assert env_str("AUTHSVC_X") == SECRET


def test_only_the_line_break_is_removed(monkeypatch, secret_file):
    # A value's own spaces are part of it (a password may end with one).
    monkeypatch.setenv("AUTHSVC_X_FILE", secret_file(" with spaces \n"))
    assert env_str("AUTHSVC_X") == " with spaces "


def test_every_reader_reads_files(monkeypatch, secret_file):
    monkeypatch.setenv("AUTHSVC_X_FILE", secret_file("42\n"))
    assert env_int("AUTHSVC_X", 1) == 42
    monkeypatch.setenv("AUTHSVC_X_FILE", secret_file("0\n"))
    assert env_bool("AUTHSVC_X", True) is False
    monkeypatch.setenv("AUTHSVC_X_FILE", secret_file("a.example, b.example\n"))
    assert env_list("AUTHSVC_X", []) == ["a.example", "b.example"]


def test_the_file_value_is_validated_like_the_variable(monkeypatch, secret_file):
    monkeypatch.setenv("AUTHSVC_X_FILE", secret_file("5\n"))
    with pytest.raises(ImproperlyConfigured, match="AUTHSVC_X must be at least 10"):
        env_int("AUTHSVC_X", 20, minimum=10)


def test_without_either_the_default_applies():
    assert env_str("AUTHSVC_X", "fallback") == "fallback"
    assert env_int("AUTHSVC_X", 7) == 7


def test_the_variable_and_its_file_together_are_refused(monkeypatch, secret_file):
    monkeypatch.setenv("AUTHSVC_X", "inline")
    monkeypatch.setenv("AUTHSVC_X_FILE", secret_file(SECRET))
    with pytest.raises(ImproperlyConfigured, match="AUTHSVC_X and AUTHSVC_X_FILE are both set"):
        env_str("AUTHSVC_X")
    # Even an empty X counts as set: which one was meant is unclear.
    monkeypatch.setenv("AUTHSVC_X", "")
    with pytest.raises(ImproperlyConfigured, match="both set"):
        env_str("AUTHSVC_X")


def test_a_missing_file_names_the_variable_and_the_path(monkeypatch, tmp_path):
    missing = str(tmp_path / "nowhere")
    monkeypatch.setenv("AUTHSVC_X_FILE", missing)
    with pytest.raises(ImproperlyConfigured) as raised:
        env_str("AUTHSVC_X")
    assert "AUTHSVC_X_FILE" in str(raised.value)
    assert missing in str(raised.value)
    assert "No such file" in str(raised.value)


def test_an_unreadable_file_never_shows_its_content(monkeypatch, secret_file, tmp_path):
    # A directory cannot be read as a file (permissions would not stop root, who runs CI).
    monkeypatch.setenv("AUTHSVC_X_FILE", str(tmp_path))
    with pytest.raises(ImproperlyConfigured, match="AUTHSVC_X_FILE: cannot read"):
        env_str("AUTHSVC_X")

    # Not UTF-8: Python's own message would quote the offending bytes of the secret.
    monkeypatch.setenv("AUTHSVC_X_FILE", secret_file(b"\xff\xfe" + SECRET.encode("utf-16-le")))
    with pytest.raises(ImproperlyConfigured) as raised:
        env_str("AUTHSVC_X")
    message = str(raised.value)
    assert "AUTHSVC_X_FILE" in message and "not UTF-8" in message
    assert "0xff" not in message and "s3cr3t" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_an_empty_file_variable_is_refused(monkeypatch):
    monkeypatch.setenv("AUTHSVC_X_FILE", "")
    with pytest.raises(ImproperlyConfigured, match="AUTHSVC_X_FILE is empty"):
        env_str("AUTHSVC_X")


def test_manage_check_takes_the_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "django_secret_key"
    key_file.write_text("f" * 20 + "-secret-from-a-file-1a2b3c4d5e6f7a8b9c0d\n")

    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={
            "DJANGO_SECRET_KEY_FILE": str(key_file),
            "REDIS_URL": "redis://127.0.0.1:6379/15",
        },
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout

    # The same key, also given inline: refused before anything starts.
    refused = manage(
        "check",
        env_overrides={"DJANGO_SECRET_KEY_FILE": str(key_file), "DJANGO_SECRET_KEY": "x" * 50},
        tmp_path=tmp_path,
    )
    assert refused.returncode != 0
    assert "DJANGO_SECRET_KEY and DJANGO_SECRET_KEY_FILE are both set" in refused.stderr
    assert "secret-from-a-file" not in refused.stderr + refused.stdout


def test_manage_check_with_an_unreadable_secret_file_names_it(tmp_path):
    result = manage(
        "check",
        env_overrides={"DJANGO_SECRET_KEY_FILE": str(tmp_path / "absent")},
        tmp_path=tmp_path,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY_FILE: cannot read" in result.stderr


def test_a_malformed_database_url_is_refused_without_showing_it():
    from pathlib import Path

    from authsvc.settings.env import database_from_url

    with pytest.raises(ImproperlyConfigured) as raised:
        database_from_url("hunter2-not-a-url", base_dir=Path("/"))
    assert "without a scheme" in str(raised.value)
    assert "hunter2" not in str(raised.value)
    with pytest.raises(ImproperlyConfigured, match="not mysql://"):
        database_from_url("mysql://authsvc:hunter2@db/authsvc", base_dir=Path("/"))
