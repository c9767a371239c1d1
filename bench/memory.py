"""A gunicorn worker's memory, phase by phase: `python -m bench.memory`.

Starts gunicorn the way `make bench` does (bench/servers.py: the production settings, the
bench's environment, one worker here), then reads the worker's RSS (/proc/<pid>/status,
and /proc/<pid>/smaps_rollup's anonymous and file-backed parts) after it has loaded the
app, and after a few requests of each kind: JWKS, /auth/self/, refresh, login. RSS does
not depend on the CPU the way rates do, so this runs beside other work. Uses its own
database and Redis db (MEMORY_DATABASE_URL, MEMORY_REDIS_URL), recreated and seeded.
"""

import http.client
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bench.servers
from bench.config import CSRF, PASSWORD, ROOT, VAR, bench_env
from bench.seed import raw_refresh, recreate_database, seed_users, write_self_tokens
from bench.servers import Gunicorn

USERS = 16
CONCURRENCY = 16
CONCURRENT_REQUESTS = 100
# Below the 4 credential checks a worker admits at once (accounts/hashers.py): no 503.
LOGIN_CLIENTS = 3
MIXED_LOGINS = 10


def rollup(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    smaps = Path(f"/proc/{pid}/smaps_rollup").read_text()
    parts = {}
    for line in smaps.splitlines()[1:]:
        key, value = line.split(":", 1)
        parts[key] = int(value.split()[0])

    def mb(kb: int) -> float:
        return round(kb / 1024, 1)

    return {
        "rss": mb(int(values["VmRSS"].split()[0])),
        "peak": mb(int(values["VmHWM"].split()[0])),
        "anon": mb(parts.get("Anonymous", 0)),
        "file": mb(parts.get("Rss", 0) - parts.get("Anonymous", 0)),
        "shared": mb(parts.get("Shared_Clean", 0) + parts.get("Shared_Dirty", 0)),
    }


def request(method: str, path: str, cookies: str = "", body: dict | None = None, expect: int = 200):
    conn = http.client.HTTPConnection("127.0.0.1", bench.servers.PORT, timeout=30)
    headers = {"Host": "127.0.0.1"}
    if cookies or method == "POST":
        headers["Cookie"] = f"csrftoken={CSRF}" + (f"; {cookies}" if cookies else "")
        headers["X-CSRFToken"] = CSRF
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != expect:
        raise RuntimeError(f"{method} {path}: {response.status}")
    return response


def main() -> int:
    os.environ.setdefault("BENCH_PORT", "8791")
    env = bench_env(1)
    env["DATABASE_URL"] = os.environ.get(
        "MEMORY_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/authsvc_memory"
    )
    env["REDIS_URL"] = os.environ.get("MEMORY_REDIS_URL", "redis://127.0.0.1:6379/6")
    env["BENCH_PORT"] = os.environ["BENCH_PORT"]
    os.environ.update(env)
    recreate_database(env["DATABASE_URL"])
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    seed_users(USERS)
    VAR.mkdir(parents=True, exist_ok=True)
    tokens = VAR / "memory_tokens.txt"
    write_self_tokens(USERS, tokens)
    access = tokens.read_text().split()

    bench.servers.PORT = int(env["BENCH_PORT"])
    rows = []
    with Gunicorn(env, 1) as server:
        (pid,) = server.worker_pids()
        rows.append(("app loaded (after /readyz)", rollup(pid)))
        for _ in range(5):
            request("GET", "/.well-known/jwks.json")
        rows.append(("5 x JWKS", rollup(pid)))
        for token in access[:10]:
            request("GET", "/auth/self/", cookies=f"access_token={token}")
        rows.append(("10 x /auth/self/", rollup(pid)))
        for i in range(5):
            request("POST", "/auth/refresh/", cookies=f"refresh_token={raw_refresh(i)}")
        rows.append(("5 x refresh", rollup(pid)))

        # Every request thread of the worker busy at once: each may get a malloc arena.
        def burst(k: int) -> None:
            for j in range(CONCURRENT_REQUESTS):
                token = access[(k + j) % len(access)]
                request("GET", "/auth/self/", cookies=f"access_token={token}")

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(burst, range(CONCURRENCY)))
        rows.append((f"{CONCURRENCY} clients x {CONCURRENT_REQUESTS} /auth/self/", rollup(pid)))
        for i in range(5):
            request(
                "POST",
                "/auth/login/",
                body={"email": f"bench{i}@example.com", "password": PASSWORD},
            )
        rows.append(("5 x login", rollup(pid)))
        for token in access[:10]:
            request("GET", "/auth/self/", cookies=f"access_token={token}")
        rows.append(("10 x /auth/self/ again", rollup(pid)))
        # The first password check loads the breached-password fingerprints.
        request(
            "POST",
            "/auth/register/",
            body={"email": "memory-new@example.com", "password": "a new and unlisted passphrase"},
            expect=201,
        )
        rows.append(("1 registration", rollup(pid)))

        # Logins beside cheap requests, every thread busy: the hashing thread's buffer is
        # freed and taken again while the request threads allocate around it.
        def login(k: int) -> None:
            for j in range(MIXED_LOGINS):
                email = f"bench{(k * MIXED_LOGINS + j) % USERS}@example.com"
                request("POST", "/auth/login/", body={"email": email, "password": PASSWORD})

        with ThreadPoolExecutor(CONCURRENCY + LOGIN_CLIENTS) as pool:
            jobs = [pool.submit(burst, k) for k in range(CONCURRENCY)]
            jobs += [pool.submit(login, k) for k in range(LOGIN_CLIENTS)]
            for job in jobs:
                job.result()
        rows.append((f"same, with {LOGIN_CLIENTS * MIXED_LOGINS} logins beside", rollup(pid)))
    print(f"{'phase':34} {'RSS':>6} {'peak':>6} {'anon':>6} {'file':>6} {'shared':>6}  (MB)")
    for name, r in rows:
        print(f"{name:34} {r['rss']:6} {r['peak']:6} {r['anon']:6} {r['file']:6} {r['shared']:6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
