"""Per-request CPU in process, in µs: the DRF and JsonResponse floors, `GET /auth/self/`,
refresh, login (and one argon2 verify alone, to subtract), each beside the least it could do
(authsvc/bench_views.py), and the middleware stack on a trivial request (the JsonResponse
floor minus the bare view called directly).

Production settings (DEBUG off) on PostgreSQL and Redis, Django's test Client, no gunicorn
and no network: what the service's own code costs. Each figure is the best of
PERCALL_REPEATS batches of PERCALL_ROUNDS calls, the least disturbed batch, so that a
neighbour's burst on a shared machine moves one batch, not the figure. CPU is the request
thread's: argon2 runs on the hashing pool's thread, so a login's CPU here is its non-hash
work.

    .venv/bin/python bench/percall.py >/dev/null   # authsvc_profile, Redis db 13
    PROFILE_DATABASE_URL=... PROFILE_REDIS_URL=... .venv/bin/python bench/percall.py >/dev/null
"""

import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/profile.py: its settings and its database set-up (not importable by name: the
# standard library has a `profile` module).
_spec = importlib.util.spec_from_file_location("bench_profile", ROOT / "bench" / "profile.py")
_profile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_profile)

ROUNDS = int(os.environ.get("PERCALL_ROUNDS", "200"))
REPEATS = int(os.environ.get("PERCALL_REPEATS", "7"))


def timed(call, rounds: int = ROUNDS, repeats: int = REPEATS) -> tuple[float, float]:
    """The least over `repeats` batches of the µs per call (the batch the neighbours
    disturbed least): wall clock, and the CPU of the request's own thread. The hashing
    pool's thread is not counted there, so a login's CPU is its work beside the hash."""
    call()
    walls, cpus = [], []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.thread_time()
        for _ in range(rounds):
            call()
        walls.append((time.perf_counter() - started) / rounds * 1e6)
        cpus.append((time.thread_time() - cpu) / rounds * 1e6)
    return min(walls), min(cpus)


def main() -> int:
    os.environ.update(_profile.ENV)
    os.environ["AUTHSVC_BENCH"] = "1"
    _profile.recreate_database()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.hashers import check_password, make_password
    from django.core.management import call_command
    from django.test import Client, RequestFactory

    from accounts.models import User
    from authsvc import bench_views

    call_command("migrate", verbosity=0)
    password = _profile.PASSWORD
    User.objects.create_user(email="percall@example.com", password=password)
    browser = Client()
    csrf = "p" * 32
    browser.cookies["csrftoken"] = csrf
    headers = {"HTTP_X_CSRFTOKEN": csrf, "content_type": "application/json"}
    body = {"email": "percall@example.com", "password": password}

    def checked(response):
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.content[:200]!r}")

    def login():
        checked(browser.post("/auth/login/", body, **headers))

    login()

    def least_self():
        bearer = f"Bearer {browser.cookies['access_token'].value}"
        return browser.get("/bench/least/self", HTTP_AUTHORIZATION=bearer)

    floor = RequestFactory().get("/bench/json")
    encoded = make_password(password)
    results = {
        "JsonResponse view alone (no middleware)": timed(lambda: bench_views.json_floor(floor)),
        "floor: JsonResponse (/bench/json)": timed(lambda: checked(browser.get("/bench/json"))),
        "floor: DRF (/bench/drf)": timed(lambda: checked(browser.get("/bench/drf"))),
        "GET /auth/self/": timed(lambda: checked(browser.get("/auth/self/"))),
        "  least possible self": timed(lambda: checked(least_self())),
        "POST /auth/refresh/": timed(
            lambda: checked(browser.post("/auth/refresh/", {}, **headers))
        ),
        "  least possible refresh": timed(
            lambda: checked(browser.post("/bench/least/refresh", {}, **headers))
        ),
        "argon2 verify alone": timed(lambda: check_password(password, encoded), 10, 5),
        "POST /auth/login/": timed(login, 10, 5),
        "  least possible login": timed(
            lambda: checked(browser.post("/bench/least/login", body, **headers)), 10, 5
        ),
    }

    def minus(a, b):
        return tuple(x - y for x, y in zip(results[a], results[b], strict=True))

    results["middleware stack (floor minus its view)"] = minus(
        "floor: JsonResponse (/bench/json)", "JsonResponse view alone (no middleware)"
    )
    results["POST /auth/login/ minus one verify"] = minus(
        "POST /auth/login/", "argon2 verify alone"
    )
    results["  least possible login minus one verify"] = minus(
        "  least possible login", "argon2 verify alone"
    )
    drf = results["floor: DRF (/bench/drf)"][1]
    # The log lines of the requests went to stdout; the table goes to stderr.
    print(f"{'':45s} {'wall µs':>10s} {'CPU µs':>10s}   DRF floor / CPU", file=sys.stderr)
    for name, (wall, cpu) in results.items():
        ratio = drf / cpu if cpu > 0 else 0
        print(f"{name:45s} {wall:10.1f} {cpu:10.1f}   {ratio:6.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
