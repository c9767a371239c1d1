"""The password reset's answer time for a known and an unknown address, with the mail queue.

    .venv/bin/python bench/mail_timing.py

On a database of its own (MAIL_BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/authsvc_mail_bench), in this process: Django's test
client posts `POST /auth/password/reset/` (rate limits off, `AUTHSVC_MAIL_SEND_ON_COMMIT`
off, as in production), interleaving a known and an unknown address (ABBA), MAIL_BENCH_ROUNDS
times each, and reports each side's median and p90. The request path is the same for both
(one INSERT, then the NOTIFY; `tests/accounts/test_password_reset.py` asserts the same
statements), so the medians should differ by no more than the noise, shown as the
difference between the two halves of the known side. For scale it also times the builder
the worker runs (`password_reset_mail_build`: the lookup, the token, the rendering), the
work that would make a known address slower if it were done on the request path.

The same for the sign-in code's request (`POST /auth/login/code/`, the same single INSERT)
and its confirmation with a wrong code (`POST /auth/login/code/confirm/`): for the known
address the one UPDATE finds the live code and counts the try (the tries are reset between
rounds, outside the timing), for the unknown one it finds nothing; both then compute the
HMAC and record the failure (`tests/accounts/test_login_codes.py` asserts the same
statements).
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = os.environ.get(
    "MAIL_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/authsvc_mail_bench"
)
ROUNDS = int(os.environ.get("MAIL_BENCH_ROUNDS", "2000"))
KNOWN, UNKNOWN = "known@example.com", "unknown@example.com"


def prepare() -> None:
    name, admin = DATABASE.rsplit("/", 1)[1], DATABASE.rsplit("/", 1)[0] + "/postgres"
    for sql in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", admin, "-qc", sql], check=True)  # noqa: S603, S607
    env = {
        "DATABASE_URL": DATABASE,
        "DJANGO_SETTINGS_MODULE": "authsvc.settings.production",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "AUTHSVC_RATE_LIMITS_ENABLED": "0",
        "AUTHSVC_MAIL_SEND_ON_COMMIT": "0",
        "AUTHSVC_KEYS_DIR": str(ROOT / "var" / "bench-keys"),
        "AUTHSVC_EVENTS_ENABLED": "0",
    }
    os.environ.pop("REDIS_URL", None)
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from accounts.models import User

    User.objects.create_user(email=KNOWN, password="bench correct horse battery")  # noqa: S106


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def request_times(
    path: str = "/auth/password/reset/", *, body=None, status: int = 202, before=None
) -> dict[str, list[float]]:
    from django.test import Client

    client = Client()
    times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
    for n in range(ROUNDS * 2 + 200):
        # known, unknown, unknown, known, ...: neither side always goes first.
        email = KNOWN if n % 4 in (0, 3) else UNKNOWN
        if before is not None:
            before()
        data = {"email": email, **(body or {})}
        started = time.perf_counter()
        response = client.post(path, data, content_type="application/json", secure=True)
        elapsed = time.perf_counter() - started
        if response.status_code != status:
            raise RuntimeError(f"{response.status_code} {response.content[:200]!r}")
        if n >= 200:  # the first rounds warm the caches and the connection
            times[email].append(elapsed * 1000)
    return times


def code_times() -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    from accounts.login_codes import login_code_issue
    from accounts.models import LoginCode, User

    asked = request_times("/auth/login/code/")
    code = login_code_issue(user=User.objects.get(email=KNOWN))
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    confirmed = request_times(
        "/auth/login/code/confirm/",
        body={"code": wrong},
        status=401,
        before=lambda: LoginCode.objects.update(attempts=0),
    )
    return asked, confirmed


def report(title: str, times: dict[str, list[float]]) -> None:
    known, unknown = times[KNOWN], times[UNKNOWN]
    half = len(known) // 2
    noise = abs(statistics.median(known[:half]) - statistics.median(known[half:]))
    print(f"{title}, {len(known)} each, interleaved (ms):")
    for label, values in (("known", known), ("unknown", unknown)):
        print(
            f"  {label:8} p50 {statistics.median(values):6.3f}  p90 {percentile(values, 0.9):6.3f}"
        )
    print(
        f"  difference of the medians {statistics.median(known) - statistics.median(unknown):+.3f}"
        f" ms; between the two halves of the known side {noise:.3f} ms"
    )


def builder_times() -> dict[str, list[float]]:
    from accounts.passwords import password_reset_mail_build

    times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
    for n in range(400):
        email = KNOWN if n % 2 == 0 else UNKNOWN
        started = time.perf_counter()
        password_reset_mail_build({"email": email, "ip": "127.0.0.1", "user_agent": ""})
        times[email].append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    prepare()
    requests = request_times()
    builders = builder_times()
    report("POST /auth/password/reset/", requests)
    print("password_reset_mail_build on the worker, for scale (ms):")
    for label, email in (("known", KNOWN), ("unknown", UNKNOWN)):
        print(f"  {label:8} p50 {statistics.median(builders[email]):6.3f}")
    asked, confirmed = code_times()
    report("POST /auth/login/code/", asked)
    report("POST /auth/login/code/confirm/ with a wrong code", confirmed)


if __name__ == "__main__":
    main()
