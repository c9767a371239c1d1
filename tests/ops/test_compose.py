"""compose.yaml, checked as far as a machine without Docker can: against the Compose
Specification's JSON schema, against the rules the stack keeps (every service healthy or a
one-shot job, read-only and without capabilities, no port but the proxy's, secrets as files,
one image), and the secrets' instructions in docs/production.md run for real."""

import copy
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from authsvc.settings.env import database_from_url
from tests.authsvc.test_docs import settings_reads
from tests.live import environ_without_service
from tests.ops.compose import ROOT, MissingVariable, interpolate, load

SCHEMA = json.loads((Path(__file__).parent / "compose_spec" / "compose-spec.json").read_text())
PRODUCTION = ROOT / "docs" / "production.md"

IMAGE_SERVICES = {"migrate", "app", "mailer", "relay"}
ONE_SHOT = {"migrate"}
# Variables read by the postgres image's entrypoint, not by the settings.
IMAGE_VARIABLES = {"POSTGRES_PASSWORD"}
# Secrets that are never written inline in compose.yaml.
SECRET_VARIABLES = {
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_HOST_PASSWORD",
    "GOOGLE_OAUTH_CLIENT_SECRET",
    "AUTHSVC_MFA_BACKUP_CODE_PEPPER",
    "POSTGRES_PASSWORD",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return load()


def schema_errors(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


# The schema ---------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification(compose):
    assert schema_errors(compose) == []


def test_the_schema_check_catches_mistakes(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["app"]["restrat"] = "always"  # a typo'd key
    broken["services"]["proxy"]["ports"] = "443:443"  # a list, not a string
    broken["services"]["redis"]["healthcheck"]["tests"] = ["CMD", "true"]

    errors = schema_errors(broken)

    assert any("app: 'restrat' does not match" in error for error in errors)
    assert any("$.services.proxy.ports" in error for error in errors)
    assert any("healthcheck: 'tests' does not match" in error for error in errors)


def test_interpolation_follows_compose():
    env = {"SET": "value", "EMPTY": ""}
    assert interpolate("${SET}", env) == "value"
    assert interpolate("${UNSET:-fallback}", env) == "fallback"
    assert interpolate("${EMPTY:-fallback}", env) == "fallback"
    assert interpolate("${EMPTY-fallback}", env) == ""
    assert interpolate("https://${A:-${B:-localhost}}/", env) == "https://localhost/"
    assert interpolate("$$(cat file)", env) == "$(cat file)"
    with pytest.raises(MissingVariable):
        interpolate("${UNSET:?set it}", env)


def test_the_public_host_reaches_every_setting_that_names_it():
    compose = load({"PUBLIC_HOST": "auth.example.com"})
    app = compose["services"]["app"]["environment"]
    proxy = compose["services"]["proxy"]["environment"]

    assert proxy["PUBLIC_HOST"] == "auth.example.com"
    assert app["DJANGO_ALLOWED_HOSTS"] == "auth.example.com,127.0.0.1"
    assert app["AUTHSVC_FRONTEND_URL"] == "https://auth.example.com/"


# The rules the stack keeps --------------------------------------------------------------


def test_the_stack_has_its_services(compose):
    assert set(compose["services"]) == {
        "proxy",
        "postgres",
        "redis",
        "migrate",
        "app",
        "mailer",
        "relay",
    }


def test_every_long_running_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        check = service.get("healthcheck", {})
        if name in ONE_SHOT:
            assert service["restart"] == "no"
            continue
        assert not check.get("disable"), name
        assert check.get("test"), f"{name} has no healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert service["restart"] == "unless-stopped", name


def test_the_one_shot_job_gates_the_services_that_need_the_schema(compose):
    services = compose["services"]
    for name in ("app", "mailer", "relay"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["relay"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["app"]["condition"] == "service_healthy"
    # Every dependency waits on a condition, never on a mere start.
    for name, service in services.items():
        for dependency in service.get("depends_on", {}).values():
            assert dependency["condition"] != "service_started", name


def test_every_service_is_hardened(compose):
    for name, service in compose["services"].items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["logging"]["options"]["max-size"], name
        # Only the proxy gets a capability back, to bind 80 and 443.
        assert service.get("cap_add", []) == (["NET_BIND_SERVICE"] if name == "proxy" else [])
        # No container runs as root but the proxy (the image's own user or one set here).
        if name in {"postgres", "redis"}:
            assert service["user"] not in {"root", "0", "0:0"}, name
        assert not service.get("privileged"), name


def test_the_images_services_run_as_the_images_unprivileged_user(compose):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert "--uid 10001" in dockerfile
    for name in IMAGE_SERVICES:
        assert "user" not in compose["services"][name], f"{name} must keep the image's user"


def test_writable_places_are_tmpfs_or_volumes(compose):
    keys_dir = re.search(r"AUTHSVC_KEYS_DIR=(\S+)", (ROOT / "Dockerfile").read_text()).group(1)
    for name in IMAGE_SERVICES:
        service = compose["services"][name]
        assert "/tmp" in service["tmpfs"], name  # noqa: S108
        assert "/run/authsvc" in service["tmpfs"], name
    assert compose["services"]["app"]["volumes"] == [f"keys:{keys_dir}"]
    assert "/var/run/postgresql" in compose["services"]["postgres"]["tmpfs"]
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]


def test_only_the_proxy_publishes_ports(compose):
    for name, service in compose["services"].items():
        if name != "proxy":
            assert "ports" not in service, f"{name} must not be reachable from the host"
    assert compose["services"]["proxy"]["ports"] == ["80:80", "443:443", "443:443/udp"]


def test_databases_sit_on_the_network_with_no_way_out(compose):
    assert compose["networks"]["backend"]["internal"] is True
    for name in ("postgres", "redis", "migrate", "relay"):
        assert compose["services"][name]["networks"] == ["backend"], name
    assert compose["services"]["proxy"]["networks"] == ["frontend"]
    assert set(compose["services"]["app"]["networks"]) == {"frontend", "backend"}


def test_the_images_services_share_one_image(compose):
    services = compose["services"]
    images = {(services[name]["image"], services[name]["build"]) for name in IMAGE_SERVICES}
    assert images == {("authsvc:local", ".")}
    for name, command in {
        "migrate": ["python", "manage.py", "migrate", "--noinput"],
        "relay": ["python", "manage.py", "relay_events"],
        "mailer": ["python", "manage.py", "send_queued_mail"],
    }.items():
        assert services[name]["command"] == command
    # The app runs the image's own command: gunicorn -c gunicorn.conf.py.
    assert "command" not in services["app"]
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py"' in (ROOT / "Dockerfile").read_text()


def test_the_app_is_configured_for_the_proxy(compose):
    env = compose["services"]["app"]["environment"]
    assert env["AUTHSVC_PROXY_SSL_HEADER"] == "HTTP_X_FORWARDED_PROTO"
    assert env["AUTHSVC_TRUSTED_PROXY_COUNT"] == "1"
    assert "localhost" in env["DJANGO_ALLOWED_HOSTS"].split(",")
    # The container healthcheck asks 127.0.0.1.
    assert "127.0.0.1" in env["DJANGO_ALLOWED_HOSTS"].split(",")
    assert env["AUTHSVC_FRONTEND_URL"] == "https://localhost/"
    proxy = compose["services"]["proxy"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert (ROOT / "deploy" / "Caddyfile").is_file()


def test_docker_waits_longer_than_gunicorns_graceful_shutdown(compose):
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    grace = compose["services"]["app"]["stop_grace_period"]
    assert grace.endswith("s")
    assert int(grace[:-1]) > config["graceful_timeout"]


# Secrets --------------------------------------------------------------------------------


def test_secrets_come_from_files_never_inline(compose):
    reads = set(settings_reads())
    declared = compose["secrets"]
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        mounted = set(service.get("secrets", []))
        assert not (SECRET_VARIABLES & set(env)), f"{name} has a secret inline"
        for variable, value in env.items():
            if not variable.endswith("_FILE"):
                continue
            base = variable.removesuffix("_FILE")
            assert base in reads | IMAGE_VARIABLES, f"{variable}: nothing reads {base}"
            secret = value.removeprefix("/run/secrets/")
            assert value == f"/run/secrets/{secret}", variable
            assert secret in mounted, f"{name}: {variable} names a secret it does not mount"
        assert mounted <= set(declared), name
    for secret in declared.values():
        assert secret["file"].startswith("./secrets/")


def test_secrets_are_git_ignored_and_kept_out_of_the_image():
    assert "secrets/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "secrets" in (ROOT / ".dockerignore").read_text().splitlines()


def _secrets_commands() -> str:
    text = PRODUCTION.read_text()
    section = text.split("\n## Secrets\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    assert blocks, "docs/production.md: a ```sh block under ## Secrets"
    return blocks[0]


def _run_secrets_commands(folder: Path) -> None:
    result = subprocess.run(
        [shutil.which("bash"), "-euo", "pipefail", "-c", _secrets_commands()],
        cwd=folder,
        env={"PATH": os.environ["PATH"], "HOME": str(folder)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_the_documented_commands_create_every_secret_file(compose, tmp_path):
    _run_secrets_commands(tmp_path)

    values = {}
    for name, secret in compose["secrets"].items():
        path = tmp_path / secret["file"]
        assert path.is_file(), f"the instructions do not create {secret['file']}"
        # Readable by the containers' users (uid 10001, 999), whatever the host user is.
        assert path.stat().st_mode & 0o004, f"{secret['file']} is not readable in the container"
        values[name] = path.read_text().rstrip("\n")

    assert len(values["django_secret_key"]) >= 50
    assert len(values["mfa_backup_code_pepper"]) >= 32
    # The app's database URL carries the password PostgreSQL was initialised with.
    database = database_from_url(values["database_url"], base_dir=ROOT)
    assert database["PASSWORD"] == values["postgres_password"] != ""
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("postgres", "5432", "authsvc")
    assert values["redis_url"] == f"redis://:{values['redis_password']}@redis:6379/0"
    assert len(values["redis_password"]) >= 32
    # The optional ones exist, empty until used.
    assert values["email_host_password"] == ""
    assert values["google_oauth_client_secret"] == ""
    # The folder itself is the operator's alone.
    assert (tmp_path / "secrets").stat().st_mode & 0o077 == 0

    # Run twice, they keep what exists (a second run must not change the passwords).
    _run_secrets_commands(tmp_path)
    assert (tmp_path / "secrets" / "postgres_password").read_text().rstrip() == values[
        "postgres_password"
    ]


# The workers' healthchecks, run here against the test database ----------------------------


def _healthcheck(compose, name: str, database: str) -> subprocess.CompletedProcess:
    test = compose["services"][name]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "python"
    env = environ_without_service()
    env.update(
        DJANGO_SETTINGS_MODULE="authsvc.settings.production",
        DJANGO_SECRET_KEY="healthcheck-test-key-5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b",
        DATABASE_URL=database,
        AUTHSVC_KEYS_DIR=str(ROOT / "var" / "healthcheck-keys-unused"),
    )
    return subprocess.run(
        [sys.executable, *test[2:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.django_db(transaction=True)
def test_the_relay_healthcheck_fails_when_the_outbox_lags(compose):
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from audit.models import OutboxEvent
    from tests.live import database_url

    healthy = _healthcheck(compose, "relay", database_url())
    assert healthy.returncode == 0, healthy.stderr

    OutboxEvent.objects.create(
        event_id=uuid.uuid4(),
        type="user.registered",
        occurred_at=timezone.now() - timedelta(minutes=5),
    )
    lagging = _healthcheck(compose, "relay", database_url())
    assert lagging.returncode == 1, lagging.stderr


@pytest.mark.django_db(transaction=True)
def test_the_mailer_healthcheck_needs_the_database(compose):
    from tests.faults import free_port
    from tests.live import database_url

    reachable = _healthcheck(compose, "mailer", database_url())
    assert reachable.returncode == 0, reachable.stderr

    nobody = f"postgres://postgres@127.0.0.1:{free_port()}/authsvc"
    unreachable = _healthcheck(compose, "mailer", nobody)
    assert unreachable.returncode != 0
    assert "OperationalError" in unreachable.stderr or "onnection" in unreachable.stderr


@pytest.mark.parametrize("name", sorted(IMAGE_SERVICES))
def test_each_services_environment_passes_the_deployment_checks(compose, name, tmp_path):
    """The service's environment as compose.yaml gives it, with the secret files the docs'
    commands make where the containers see /run/secrets/: the settings load every *_FILE
    and `manage.py check --deploy` finds nothing (nothing here connects to the hosts named)."""
    _run_secrets_commands(tmp_path)
    service = compose["services"][name]
    env = environ_without_service("EMAIL_")
    for variable, value in service["environment"].items():
        env[variable] = str(value).replace("/run/secrets/", f"{tmp_path}/secrets/")
    env["DJANGO_SETTINGS_MODULE"] = "authsvc.settings.production"
    env["AUTHSVC_KEYS_DIR"] = str(tmp_path / "keys")

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout
