"""`make bench`: the service as production runs it, under wrk, judged against floors.

Every figure is a ratio to a floor measured by the same process in the same run, because
absolute numbers drift on a shared machine. Steps: a fresh bench database and Redis db,
COPY-seeded users, sessions and refresh tokens (snapshots through Redis pipelines),
gunicorn with the production settings, one wrk run per endpoint, argon2 measured in this
process, then one table, `bench/results/<stamp>.json`, `latest.json` and `latest.png`.
"""

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "lua"
RESULTS = ROOT / "bench" / "results"
VAR = ROOT / "var" / "bench"
SCALES = {"1k": 1_000, "1m": 1_000_000}
PASSWORD = "bench correct horse battery"  # noqa: S105 - the seeded users' known password
CSRF = "benchCsrfSecret0123456789abcdefA"  # 32 letters and digits: a valid CSRF secret
SELF_TOKENS = 512
# Expired refresh tokens for purge_expired to delete during a refresh phase.
PURGE_ROWS = int(os.environ.get("BENCH_PURGE_ROWS", "300000"))
REFRESH_CHAINS = 8
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def bench_env(workers: int) -> dict:
    database = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/authsvc_bench"
    )
    return {
        "DJANGO_SETTINGS_MODULE": "authsvc.settings.production",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-key-never-deployed-8c1f0e2d7b6a5c4e3d2f1a0b9c8d7e6f",
        "DATABASE_URL": database,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        "AUTHSVC_KEYS_DIR": str(VAR / "keys"),
        # Plain HTTP on loopback, no TLS terminator in front: no redirect. Cookies keep
        # Secure (the system checks insist); wrk sends them back regardless.
        "AUTHSVC_SSL_REDIRECT": "0",
        "AUTHSVC_BENCH": "1",
        # One load generator on one IP: limits it can never reach, so the limiters' own
        # cost is measured but they never answer 429.
        "AUTHSVC_RATE_REFRESH_IP": "1000000000/m",
        "AUTHSVC_RATE_REFRESH_SESSION": "1000000000/m",
        "AUTHSVC_RATE_LOGIN_FAILED_IP": "1000000000/m",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WEB_CONCURRENCY": str(workers),
    }


# -- database and Redis ---------------------------------------------------------------------


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


def seed(n: int) -> dict:
    """COPY n users, n sessions and n refresh tokens; pipeline n snapshots into Redis."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from sessions_store.backends.base import Snapshot
    from sessions_store.backends.redis import SESSION_KEY, USER_INDEX_TTL_SECONDS, USER_KEY

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
                " ip, user_agent, amr, revoked_reason) FROM STDIN"
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
        )
        # Longer than the service's 15 minutes so a 1M run's snapshots outlive the run.
        pipe.set(SESSION_KEY.format(sid), snapshot.to_json(), ex=3600)
        pipe.sadd(USER_KEY.format(uid), sid)
        pipe.expire(USER_KEY.format(uid), USER_INDEX_TTL_SECONDS)
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


class Purge:
    """`manage.py purge_expired` in the background, the way cron would run it."""

    def __init__(self, env: dict):
        self.env = env

    def __enter__(self):
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "purge_expired"],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        return self

    def running(self) -> bool:
        return self.proc.poll() is None

    def __exit__(self, *exc):
        output, _ = self.proc.communicate()
        self.seconds = round(time.perf_counter() - self.started, 1)
        self.output = output.strip()


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


# -- argon2 -----------------------------------------------------------------------------------


def _hash_loop(args) -> int:
    encoded, seconds = args
    from argon2 import PasswordHasher

    hasher = PasswordHasher()
    count, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        # Django's "argon2$<argon2 encoding>", exactly as its hasher hands it to argon2-cffi.
        hasher.verify("$" + encoded.split("$", 1)[1], PASSWORD)
        count += 1
    return count


def measure_argon2(workers: int) -> dict:
    from django.contrib.auth.hashers import get_hasher, make_password

    hasher = get_hasher("argon2")
    encoded = make_password(PASSWORD)
    times = []
    for _ in range(15):
        started = time.perf_counter()
        hasher.verify(PASSWORD, encoded)
        times.append(time.perf_counter() - started)
    return {
        "parameters": {
            "memory_kib": hasher.memory_cost,
            "time_cost": hasher.time_cost,
            "parallelism": hasher.parallelism,
        },
        "verify_ms_p50": round(statistics.median(times) * 1000, 2),
        "hash_throughput_per_s": hash_throughput(encoded, workers),
        "processes": workers,
        "encoded": encoded,
    }


def hash_throughput(encoded: str, workers: int, seconds: float = 4) -> float:
    """Verifies per second of `workers` processes doing nothing else."""
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        counts = pool.map(_hash_loop, [(encoded, seconds)] * workers)
    return round(sum(counts) / seconds, 1)


# -- gunicorn and wrk ---------------------------------------------------------------------------


class Gunicorn:
    def __init__(self, env: dict, workers: int):
        self.env, self.workers, self.proc = env, workers, None

    def __enter__(self):
        VAR.mkdir(parents=True, exist_ok=True)
        self.logfile = open(VAR / "gunicorn.log", "w")
        self.proc = subprocess.Popen(  # noqa: S603
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "authsvc.wsgi:application",
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{PORT}",
                # The Dockerfile's flags; GUNICORN_CMD_ARGS in the environment adds to them.
                "--access-logfile",
                "-",
                "--error-logfile",
                "-",
                "--worker-tmp-dir",
                "/dev/shm",  # noqa: S108 - gunicorn's heartbeat files, as in the Dockerfile
                "--no-control-socket",
                "--timeout",
                "30",
                "--graceful-timeout",
                "20",
            ],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=self.logfile,
            stderr=self.logfile,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {VAR / 'gunicorn.log'}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz", timeout=2) as r:
                    if r.status == 200 and len(self.worker_pids()) == self.workers:
                        return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not become ready in 60 s")

    def worker_pids(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return pids

    def memory(self) -> list[dict]:
        out = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            out.append(
                {
                    "pid": pid,
                    "rss_mb": round(int(values["VmRSS"].split()[0]) / 1024, 1),
                    "peak_rss_mb": round(int(values["VmHWM"].split()[0]) / 1024, 1),
                }
            )
        return out

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logfile.close()


def wrk(script: str, path: str, *, threads: int, connections: int, seconds: int, env=None):
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA / script),
        f"http://127.0.0.1:{PORT}{path}",
    ]
    return subprocess.Popen(  # noqa: S603
        command,
        env={**os.environ, "BENCH_LUA_DIR": str(LUA), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wrk_result(proc) -> dict:
    output, _ = proc.communicate()
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON ") :])
            break
    else:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    seconds = data["duration_us"] / 1e6
    errors = sum(data["errors"].values())
    return {
        "rps": round(data["requests"] / seconds, 1),
        "p50_ms": round(data["p50_us"] / 1000, 2),
        "p99_ms": round(data["p99_us"] / 1000, 2),
        "requests": data["requests"],
        "errors": errors,
        "error_detail": data["errors"],
    }


def mean(runs: list[dict]) -> float:
    return round(statistics.fmean(r["rps"] for r in runs), 1)


def mean_run(runs: list[dict]) -> dict:
    merged = {k: statistics.fmean(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms")}
    return {**merged, "errors": sum(r["errors"] for r in runs), "runs": runs}


def run_phase(name, script, path, *, threads=2, connections=16, seconds=DURATION, env=None):
    log(f"{name}: wrk -t{threads} -c{connections} {seconds}s {path}")
    result = wrk_result(
        wrk(script, path, threads=threads, connections=connections, seconds=seconds, env=env)
    )
    log(
        f"  {result['rps']} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
        f"errors {result['errors']}"
    )
    return result


# -- the table --------------------------------------------------------------------------------


def judge(results: dict) -> list[dict]:
    e, a, paired = results["endpoints"], results["argon2"], results["paired_floor_rps"]
    rows = [
        ("floor: JsonResponse (mean)", "floor_json", None, None, None),
        ("floor: DRF hello (mean)", "floor_drf", paired["floor_drf"], "x JsonResponse", None),
        ("GET /auth/self/", "self", paired["self"], "x DRF", 0.70),
        ("POST /auth/refresh/", "refresh", paired["refresh"], "x DRF", 0.30),
        ("GET /.well-known/jwks.json", "jwks", paired["jwks"], "x JsonResponse", 0.95),
        ("POST /auth/login/ (saturated)", "login", paired["login"], "x hashing", 0.85),
    ]
    table = []
    for label, key, floor, unit, target in rows:
        r = e[key]
        ratio = r["rps"] / floor if floor else None
        ok = (target is None or (ratio is not None and ratio >= target)) and r["errors"] == 0
        table.append(
            {
                "endpoint": label,
                **{k: r[k] for k in ("rps", "p50_ms", "p99_ms", "errors")},
                "ratio": None if ratio is None else round(ratio, 3),
                "unit": unit,
                "target": target,
                "pass": ok,
            }
        )
    if "refresh_during_purge" in e:
        # The phase right before it, same chains and length, without the purge.
        cost = e["refresh_during_purge"]["rps"] / e["refresh"]["rps"]
        table.append(
            {
                "endpoint": "POST /auth/refresh/ during purge",
                **{k: e["refresh_during_purge"][k] for k in ("rps", "p50_ms", "p99_ms", "errors")},
                "ratio": round(cost, 3),
                "unit": "x refresh alone",
                "target": 0.90,
                "pass": cost >= 0.90 and e["refresh_during_purge"]["errors"] == 0,
            }
        )
    p50_ratio = e["login_single"]["p50_ms"] / a["verify_ms_p50"]
    table.append(
        {
            "endpoint": "POST /auth/login/ (1 conn) p50",
            **{k: e["login_single"][k] for k in ("rps", "p50_ms", "p99_ms", "errors")},
            "ratio": round(p50_ratio, 3),
            "unit": "x argon2 verify",
            "target": 1.15,
            "pass": p50_ratio <= 1.15 and e["login_single"]["errors"] == 0,
            "at_most": True,
        }
    )
    under = e["self_under_login"]["rps"] / e["self"]["rps"]
    table.append(
        {
            "endpoint": "GET /auth/self/ while login saturated",
            **{k: e["self_under_login"][k] for k in ("rps", "p50_ms", "p99_ms", "errors")},
            "ratio": round(under, 3),
            "unit": "x solo self",
            "target": 0.40,
            "pass": under >= 0.40 and e["self_under_login"]["errors"] == 0,
        }
    )
    baseline = results.get("baseline_1k")
    if baseline:
        # Ratios to the floor of their own run, so two runs compare on a noisy machine.
        for key in ("self", "refresh", "jwks", "login"):
            here = e[key]["rps"] / paired[key]
            there = baseline["endpoints"][key]["rps"] / baseline["paired_floor_rps"][key]
            table.append(
                {
                    "endpoint": f"{key} at {results['scale']} vs 1k",
                    "rps": e[key]["rps"],
                    "p50_ms": None,
                    "p99_ms": None,
                    "errors": e[key]["errors"],
                    "ratio": round(here / there, 3),
                    "unit": "x its 1k ratio",
                    "target": 0.9,
                    "pass": here / there >= 0.9,
                }
            )
    login_rate = e["login"]["rps"]
    table.append(
        {
            "endpoint": "logins per second (>= 60)",
            "rps": login_rate,
            "p50_ms": None,
            "p99_ms": None,
            "errors": e["login"]["errors"],
            "ratio": None,
            "unit": None,
            "target": 60,
            "pass": login_rate >= 60,
        }
    )
    return table


def print_table(results: dict) -> None:
    header = (
        f"{'endpoint':40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'err':>5}  "
        f"{'ratio':>22} {'target':>8}  result"
    )
    print()
    print(header)
    print("-" * len(header))
    for row in results["table"]:
        ratio = f"{row['ratio']:.3f} {row['unit']}" if row["ratio"] is not None else ""
        target = ""
        if row["target"] is not None:
            target = ("<= " if row.get("at_most") else ">= ") + f"{row['target']}"
        fmt = lambda v: "" if v is None else f"{v:.2f}"  # noqa: E731
        print(
            f"{row['endpoint']:40} {row['rps']:>9.1f} {fmt(row['p50_ms']):>8} "
            f"{fmt(row['p99_ms']):>8} {row['errors']:>5}  {ratio:>22} {target:>8}  "
            f"{'PASS' if row['pass'] else 'FAIL'}"
        )
    a, s = results["argon2"], results["storage"]
    print()
    print(
        f"argon2id m={a['parameters']['memory_kib']} KiB t={a['parameters']['time_cost']} "
        f"p={a['parameters']['parallelism']}: one verify {a['verify_ms_p50']} ms, "
        f"{a['hash_throughput_per_s']} verifies/s on {a['processes']} processes"
    )
    print(
        f"storage at {s['users']} users: {s['bytes_per_refresh_token']} B per refresh token "
        f"(table + indexes, target <= 250), {s['redis_bytes_per_session']} B of Redis per "
        f"session (target <= 512)"
    )
    if results.get("purge"):
        p = results["purge"]
        span = "ran through the whole phase" if p["ran_through_the_phase"] else "ended within it"
        print(f"purge_expired beside the refresh phase: {p['output']} ({p['seconds']} s; {span})")
    before = {w["pid"]: w for w in results["workers_before_login"]}
    for w in results["workers"]:
        grown = w["peak_rss_mb"] - before.get(w["pid"], w)["peak_rss_mb"]
        print(
            f"worker {w['pid']}: RSS {w['rss_mb']} MB, peak {w['peak_rss_mb']} MB (target < 100);"
            f" {before.get(w['pid'], w)['rss_mb']} MB before the first login, peak grew"
            f" {grown:.1f} MB while logging in (argon2)"
        )
    print(
        f"machine: {results['machine']['cpu']} x{results['machine']['cores']}, "
        f"{results['machine']['memory_gb']} GB; scale {results['scale']}"
    )


def chart(results: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed (pip install -e '.[bench]'); no chart")
        return
    rows = [r for r in results["table"] if r["ratio"] is not None and r["target"] is not None]
    labels = [r["endpoint"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4))
    colors = ["#2e7d32" if r["pass"] else "#c62828" for r in rows]
    ax.barh(labels, [r["ratio"] for r in rows], color=colors)
    for y, r in enumerate(rows):
        ax.plot([r["target"], r["target"]], [y - 0.4, y + 0.4], color="black", linewidth=2)
        ax.text(r["ratio"] + 0.01, y, f"{r['ratio']:.2f} {r['unit']}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ratio to the floor measured in the same run (black: target)")
    ax.set_title(f"authsvc make bench, {results['scale']} users, {results['started_at']} UTC")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem, 1),
        "python": sys.version.split()[0],
    }


def main() -> int:
    # A SIGTERM (timeout, CI) unwinds like an error, so gunicorn is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=SCALES, default=os.environ.get("BENCH_SCALE", "1k"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("error: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 1
    workers = os.cpu_count() or 1
    n = SCALES[args.scale]
    env = bench_env(workers)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    started_at = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H%M%S")

    log(f"fresh database {env['DATABASE_URL']}, Redis {env['REDIS_URL']}")
    recreate_database(env["DATABASE_URL"])
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    log(f"seeding {n} users, sessions and refresh tokens")
    storage = seed(n)
    log(f"  {storage}")
    tokens_file, chain_file = VAR / "self_tokens.txt", VAR / "refresh_chain.txt"
    VAR.mkdir(parents=True, exist_ok=True)
    write_self_tokens(n, tokens_file)
    chains = Chains(n)
    log(f"argon2: one verify, then {workers} processes hashing")
    argon2 = measure_argon2(workers)
    shown = {k: v for k, v in argon2.items() if k != "encoded"}
    log(f"  {shown}")

    endpoints = {}
    common = {
        "BENCH_TOKENS": str(tokens_file),
        "BENCH_REFRESH": str(chain_file),
        "BENCH_CSRF": CSRF,
        "BENCH_PASSWORD": PASSWORD,
        "BENCH_LOGIN_USERS": str(min(n, 1000)),
    }
    with Gunicorn(env, workers) as server:
        run_phase("warm-up", "get.lua", "/bench/drf", seconds=3)
        # Each endpoint runs between two runs of its floor and is judged against their mean:
        # the machine's load drifts within a run, too.
        json_runs, drf_runs = [], []
        json_runs.append(run_phase("floor JsonResponse", "get.lua", "/bench/json"))
        drf_runs.append(run_phase("floor DRF", "get.lua", "/bench/drf"))
        endpoints["self"] = run_phase("self", "self.lua", "/auth/self/", env=common)
        drf_runs.append(run_phase("floor DRF", "get.lua", "/bench/drf"))
        chains.take(chain_file)
        endpoints["refresh"] = run_phase(
            "refresh",
            "refresh.lua",
            "/auth/refresh/",
            threads=REFRESH_CHAINS,
            connections=REFRESH_CHAINS,
            env=common,
        )
        drf_runs.append(run_phase("floor DRF", "get.lua", "/bench/drf"))
        log(f"purge_expired during refresh: seeding {PURGE_ROWS} expired refresh tokens")
        seed_dead_refresh_tokens(n, PURGE_ROWS)
        chains.take(chain_file)
        with Purge(env) as purge:
            endpoints["refresh_during_purge"] = run_phase(
                "refresh while purge_expired runs",
                "refresh.lua",
                "/auth/refresh/",
                threads=REFRESH_CHAINS,
                connections=REFRESH_CHAINS,
                env=common,
            )
            still_running = purge.running()
        purge_info = {
            "rows": PURGE_ROWS,
            "seconds": purge.seconds,
            "ran_through_the_phase": still_running,
            "output": purge.output,
        }
        log(f"  {purge_info}")
        json_runs.append(run_phase("floor JsonResponse", "get.lua", "/bench/json"))
        endpoints["jwks"] = run_phase("jwks", "get.lua", "/.well-known/jwks.json")
        json_runs.append(run_phase("floor JsonResponse", "get.lua", "/bench/json"))
        memory_before_login = server.memory()
        hashing = [hash_throughput(argon2["encoded"], workers)]
        endpoints["login"] = run_phase(
            "login, saturated", "login.lua", "/auth/login/", connections=2 * workers, env=common
        )
        hashing.append(hash_throughput(argon2["encoded"], workers))
        log(f"  hashing alone: {hashing} verifies/s")
        endpoints["login_single"] = run_phase(
            "login, one connection",
            "login.lua",
            "/auth/login/",
            threads=1,
            connections=1,
            env=common,
        )
        log("self while login is saturated")
        login = wrk(
            "login.lua",
            "/auth/login/",
            threads=1,
            connections=2 * workers,
            seconds=DURATION + 2,
            env=common,
        )
        time.sleep(1)
        endpoints["self_under_login"] = wrk_result(
            wrk("self.lua", "/auth/self/", threads=2, connections=16, seconds=DURATION, env=common)
        )
        endpoints["login_under_self"] = wrk_result(login)
        log(
            f"  self {endpoints['self_under_login']['rps']} req/s, "
            f"login {endpoints['login_under_self']['rps']} req/s"
        )
        time.sleep(1)  # the last login finishes before the workers are measured
        workers_memory = server.memory()

    del argon2["encoded"]
    endpoints["floor_json"] = mean_run(json_runs)
    endpoints["floor_drf"] = mean_run(drf_runs)
    paired = {
        "self": mean(drf_runs[0:2]),
        "refresh": mean(drf_runs[1:3]),
        "jwks": mean(json_runs[1:3]),
        "login": statistics.fmean(hashing),
        "floor_drf": mean(json_runs),
    }
    results = {
        "paired_floor_rps": paired,
        "hashing_runs": hashing,
        "started_at": started_at,
        "scale": args.scale,
        "machine": machine(),
        "gunicorn_workers": workers,
        "seconds_per_phase": DURATION,
        "endpoints": endpoints,
        "argon2": argon2,
        "storage": storage,
        "workers": workers_memory,
        "workers_before_login": memory_before_login,
        "purge": purge_info,
    }
    baseline_path = RESULTS / "latest-1k.json"
    if args.scale != "1k" and baseline_path.exists():
        baseline = json.loads(baseline_path.read_text())
        results["baseline_1k"] = {
            "started_at": baseline["started_at"],
            "endpoints": {
                k: baseline["endpoints"][k] for k in ("self", "refresh", "jwks", "login")
            },
            "paired_floor_rps": baseline["paired_floor_rps"],
        }
    results["table"] = judge(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    body = json.dumps(results, indent=2)
    (RESULTS / f"{started_at}-{args.scale}.json").write_text(body)
    (RESULTS / f"latest-{args.scale}.json").write_text(body)
    chart(results, RESULTS / f"latest-{args.scale}.png")
    # A million snapshots hold most of a GB of a shared Redis; the database stays for EXPLAIN.
    bench_redis().flushdb(asynchronous=True)
    print_table(results)
    return 0 if all(row["pass"] for row in results["table"]) else 2


if __name__ == "__main__":
    sys.exit(main())
