"""Where the time of a request goes: pyinstrument profiles of login, refresh,
`GET /auth/self/`, introspection and JWKS, in process, with production settings on
PostgreSQL and Redis.

`make profile` runs it (all of them; name some to profile only those: `login verify`), and
`make bench` runs it for the endpoints whose target it missed; the reports go to
bench/results/profile-<endpoint>.txt and docs/performance.md quotes them. Timings in
process leave out gunicorn and the network, so they show the service's own share of a
request.
"""

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATABASE = os.environ.get(
    "PROFILE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/authsvc_profile"
)
PASSWORD = "correct horse battery staple"  # noqa: S105 - a seeded test user's
ROUNDS = int(os.environ.get("PROFILE_ROUNDS", "40"))

ENV = {
    "DJANGO_SETTINGS_MODULE": "authsvc.settings.production",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "profile-only-key-never-deployed-2b9e7c1d4f6a8b0c3e5d7f9a1b2c4d6e",
    "DATABASE_URL": DATABASE,
    "REDIS_URL": os.environ.get("PROFILE_REDIS_URL", "redis://127.0.0.1:6379/13"),
    "AUTHSVC_KEYS_DIR": str(ROOT / "var" / "profile-keys"),
    "AUTHSVC_SSL_REDIRECT": "0",
    "DJANGO_ALLOWED_HOSTS": "testserver",
    "AUTHSVC_RATE_LIMITS_ENABLED": "1",
    # Each round logs in again from one client: limits it can never reach, still counted.
    "AUTHSVC_RATE_REFRESH_IP": "1000000000/m",
    "AUTHSVC_RATE_REFRESH_SESSION": "1000000000/m",
}


def recreate_database() -> None:
    name = DATABASE.rsplit("/", 1)[1]
    admin = DATABASE.rsplit("/", 1)[0] + "/postgres"
    for sql in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", admin, "-qc", sql], check=True)  # noqa: S603, S607


def main() -> int:
    from pyinstrument import Profiler

    os.environ.update(ENV)
    recreate_database()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User

    call_command("migrate", verbosity=0)
    User.objects.create_user(email="profile@example.com", password=PASSWORD)
    browser = Client()
    csrf = "p" * 32
    browser.cookies["csrftoken"] = csrf
    headers = {"HTTP_X_CSRFTOKEN": csrf, "content_type": "application/json"}

    def checked(response):
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.content[:200]!r}")

    def login():
        body = {"email": "profile@example.com", "password": PASSWORD}
        checked(browser.post("/auth/login/", body, **headers))

    def refresh():
        checked(browser.post("/auth/refresh/", {}, **headers))

    def self_():
        checked(browser.get("/auth/self/"))

    from tokens.service_clients import service_client_create

    service, secret = service_client_create(name="profile", scopes=["introspect"], audiences=[])
    basic = base64.b64encode(f"{service.client_id}:{secret}".encode()).decode()
    caller = Client()

    def verify():
        token = browser.cookies["access_token"].value
        response = caller.post(
            "/auth/verify/",
            {"token": token},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Basic {basic}",
        )
        checked(response)
        if response.json().get("active") is not True:
            raise RuntimeError(f"introspection answered {response.json()}")

    def jwks():
        checked(caller.get("/.well-known/jwks.json"))

    RESULTS.mkdir(parents=True, exist_ok=True)
    login()  # warm: keys, connections, the hasher
    calls = {"login": login, "refresh": refresh, "self": self_, "verify": verify, "jwks": jwks}
    wanted = sys.argv[1:] or list(calls)
    for name in wanted:
        call = calls[name]
        call()
        profiler = Profiler(interval=0.0005)
        started = time.perf_counter()
        with profiler:
            for _ in range(ROUNDS):
                call()
        per_request = (time.perf_counter() - started) / ROUNDS * 1000
        report = profiler.output_text(unicode=False, color=False, show_all=False)
        path = RESULTS / f"profile-{name}.txt"
        path.write_text(f"{name}: {per_request:.2f} ms a request in process\n\n{report}")
        print(f"{name}: {per_request:.2f} ms a request; {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
