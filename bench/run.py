"""`make bench`: the service as production runs it, under wrk, judged against floors.

Every figure is a ratio to a floor measured by the same process in the same run, because
absolute numbers drift on a shared machine. Steps: a fresh bench database and Redis db,
COPY-seeded users, sessions and refresh tokens (snapshots through Redis pipelines),
gunicorn with the production settings, one wrk run per endpoint, argon2 measured in this
process, then one table, `bench/results/<stamp>.json`, `latest.json` and `latest.png`.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# `python bench/run.py` puts bench/ on the path, not the project: these imports need it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.config import (
    CSRF,
    DURATION,
    PASSWORD,
    PORT,
    PURGE_ROWS,
    REFRESH_CHAINS,
    RESULTS,
    ROOT,
    SCALES,
    THREADS,
    VAR,
    bench_env,
    log,
)
from bench.hashing import hash_throughput, measure_argon2
from bench.peer_run import PEER_PORT, Peer
from bench.report import chart, judge, machine, print_table
from bench.seed import (
    Chains,
    bench_redis,
    recreate_database,
    seed_dead_refresh_tokens,
    seed_users,
    write_self_tokens,
)
from bench.servers import Gunicorn, Purge
from bench.wrk import mean, mean_run, run_phase, wrk, wrk_result


def bench_service_client() -> str:
    """A service client with the `introspect` scope; its HTTP Basic credential."""
    import base64

    from tokens.service_clients import service_client_create

    client, secret = service_client_create(name="bench", scopes=["introspect"], audiences=[])
    return base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()


def check_introspection(basic: str, tokens_file: Path) -> None:
    """One introspection before the phase: the seeded tokens must come back active, or the
    phase would measure the wrong answer."""
    import urllib.request

    token = tokens_file.read_text().split("\n", 1)[0]
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/auth/verify/",
        data=json.dumps({"token": token}).encode(),
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own http URL
        answer = json.load(response)
    if answer.get("active") is not True:
        raise SystemExit(f"introspection of a seeded token answered {answer}")


# The isolation phases measure latency, not throughput: few connections, so a request's
# p99 is its own service time plus whatever it waits for, not a queue wrk built itself.
ISOLATION_CONNECTIONS = 4


def isolation(workers: int, common: dict, chains: Chains, chain_file: Path) -> dict:
    """`/auth/self/` and refresh p99 alone, then while logins saturate the hashing capacity
    (2 connections per worker keep every hashing thread busy with one login queued)."""
    out = {}
    light = {"threads": 2, "connections": ISOLATION_CONNECTIONS, "env": common}
    out["self_idle"] = run_phase("self, idle", "self.lua", "/auth/self/", **light)
    chains.take(chain_file)
    out["refresh_idle"] = run_phase(
        "refresh, idle", "refresh.lua", "/auth/refresh/", **{**light, "threads": 4}
    )
    log(f"login storm: wrk -t1 -c{2 * workers} /auth/login/ for both phases below")
    storm = wrk(
        "login.lua",
        "/auth/login/",
        threads=1,
        connections=2 * workers,
        seconds=2 * DURATION + 4,
        env=common,
    )
    time.sleep(2)  # every hashing thread busy before the measurement starts
    out["self_under_login"] = run_phase(
        "self while logins saturate hashing", "self.lua", "/auth/self/", **light
    )
    chains.take(chain_file)
    out["refresh_under_login"] = run_phase(
        "refresh while logins saturate hashing",
        "refresh.lua",
        "/auth/refresh/",
        **{**light, "threads": 4},
    )
    out["login_storm"] = wrk_result(storm)
    log(f"  logins during both: {out['login_storm']['rps']} req/s")
    return out


# (label, authsvc's path, the peer's path, script, wrk threads and connections)
COMPARED = (
    ("login (saturated)", "/auth/login/", "/auth/login/", "login.lua", None),
    ("refresh", "/auth/refresh/", "/auth/token/refresh/", "refresh.lua", REFRESH_CHAINS),
    ("profile (/auth/self/, /auth/user/)", "/auth/self/", "/auth/user/", "self.lua", 16),
)


def compare(peer: Peer, workers: int, common: dict, chains: Chains, chain_file: Path) -> list:
    """authsvc and the peer, one endpoint at a time, each right after the other."""
    rows = []
    with peer:
        for label, ours, theirs, script, connections in COMPARED:
            if connections is None:  # login: every hashing thread busy, one queued
                threads, connections = 1, 2 * workers
            else:
                threads = connections if script == "refresh.lua" else 2
            runs = {}
            for who, path, port in (("authsvc", ours, PORT), ("peer", theirs, PEER_PORT)):
                env = dict(common)
                if script == "refresh.lua":
                    (chains.take if who == "authsvc" else peer.take_chains)(chain_file)
                if who == "peer":
                    env["BENCH_TOKENS"] = str(peer.tokens)
                runs[who] = run_phase(
                    f"compare {label}: {who}",
                    script,
                    path,
                    threads=threads,
                    connections=connections,
                    env=env,
                    port=port,
                )
            rows.append({"endpoint": label, **runs})
    return rows


# The table's rows of each endpoint bench/profile.py can profile.
PROFILED = {
    "GET /auth/self/": "self",
    "POST /auth/verify/": "verify",
    "POST /auth/refresh/": "refresh",
    "GET /.well-known/jwks.json": "jwks",
    "POST /auth/login/ (saturated)": "login",
    "POST /auth/login/ (1 conn) p50": "login",
}


def profile_missed(results: dict) -> None:
    """The pyinstrument profile of every endpoint that missed its target, in
    bench/results/profile-<endpoint>.txt (bench/profile.py, in process, its own database)."""
    missed = sorted(
        {
            PROFILED[r["endpoint"]]
            for r in results["table"]
            if r["endpoint"] in PROFILED and not r["pass"]
        }
    )
    if not missed:
        return
    log(f"profiling what missed its target: {', '.join(missed)}")
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/authsvc_bench_profile"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "AUTHSVC_", "DATABASE_URL"))
    }
    env.update(PROFILE_DATABASE_URL=database, PROFILE_REDIS_URL=os.environ["REDIS_URL"])
    profile = [sys.executable, "bench/profile.py", *missed]
    subprocess.run(profile, cwd=ROOT, env=env, check=False)  # noqa: S603
    bench_redis().flushdb(asynchronous=True)


def least_worker_memory() -> dict:
    """bench/least_worker.py in a process of its own: the stack's own footprint."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.least_worker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    memory = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"  least possible worker: {memory}")
    return memory


def main() -> int:
    # A SIGTERM (timeout, CI) unwinds like an error, so gunicorn is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=SCALES, default=os.environ.get("BENCH_SCALE", "1k"))
    parser.add_argument(
        "--no-peer", action="store_true", help="skip the dj-rest-auth + simplejwt comparison"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("error: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 1
    workers = os.cpu_count() or 1
    n = SCALES[args.scale]
    env = bench_env(workers)
    os.environ.update(env)
    started_at = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H%M%S")

    log(f"fresh database {env['DATABASE_URL']}, Redis {env['REDIS_URL']}")
    recreate_database(env["DATABASE_URL"])
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    log(f"seeding {n} users, sessions and refresh tokens")
    storage = seed_users(n)
    log(f"  {storage}")
    tokens_file, chain_file = VAR / "self_tokens.txt", VAR / "refresh_chain.txt"
    VAR.mkdir(parents=True, exist_ok=True)
    write_self_tokens(n, tokens_file)
    chains = Chains(n)
    basic = bench_service_client()
    log(f"argon2: one verify, then {workers} processes hashing")
    argon2 = measure_argon2(workers)
    shown = {k: v for k, v in argon2.items() if k != "encoded"}
    log(f"  {shown}")

    peer = Peer(n, workers, THREADS, argon2["parameters"])
    if not args.no_peer:
        log(f"peer: dj-rest-auth + simplejwt, {n} users")
        peer.prepare()

    endpoints = {}
    common = {
        "BENCH_TOKENS": str(tokens_file),
        "BENCH_REFRESH": str(chain_file),
        "BENCH_CSRF": CSRF,
        "BENCH_PASSWORD": PASSWORD,
        "BENCH_LOGIN_USERS": str(min(n, 1000)),
        "BENCH_BASIC": basic,
    }
    with Gunicorn(env, workers) as server:
        run_phase("warm-up", "get.lua", "/bench/drf", seconds=3)
        # Each endpoint runs between two runs of its floor and is judged against their mean:
        # the machine's load drifts within a run, too.
        json_runs, drf_runs = [], []
        json_runs.append(run_phase("floor JsonResponse", "get.lua", "/bench/json"))
        drf_runs.append(run_phase("floor DRF", "get.lua", "/bench/drf"))
        endpoints["self"] = run_phase("self", "self.lua", "/auth/self/", env=common)
        endpoints["least_self"] = run_phase(
            "least possible self", "self.lua", "/bench/least/self", env=common
        )
        drf_runs.append(run_phase("floor DRF", "get.lua", "/bench/drf"))
        check_introspection(basic, tokens_file)
        endpoints["verify"] = run_phase("verify", "verify.lua", "/auth/verify/", env=common)
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
        chains.take(chain_file)
        endpoints["least_refresh"] = run_phase(
            "least possible refresh",
            "refresh.lua",
            "/bench/least/refresh",
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
        time.sleep(1)  # the logins still queued in the workers finish first (no 503)
        endpoints["least_login"] = run_phase(
            "least possible login",
            "login.lua",
            "/bench/least/login",
            connections=2 * workers,
            env=common,
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
        endpoints.update(isolation(workers, common, chains, chain_file))
        time.sleep(1)  # the last login finishes before the workers are measured
        workers_memory = server.memory()
        least_worker = least_worker_memory()
        worker_restarts = server.restarts()
        comparison = None if args.no_peer else compare(peer, workers, common, chains, chain_file)

    del argon2["encoded"]
    endpoints["floor_json"] = mean_run(json_runs)
    endpoints["floor_drf"] = mean_run(drf_runs)
    paired = {
        "self": mean(drf_runs[0:2]),
        "verify": mean(drf_runs[1:3]),
        "refresh": mean(drf_runs[2:4]),
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
        "worker_restarts": worker_restarts,
        "workers_before_login": memory_before_login,
        "least_worker": least_worker,
        "purge": purge_info,
        "comparison": comparison,
    }
    baseline_path = RESULTS / "latest-1k.json"
    if args.scale != "1k" and baseline_path.exists():
        baseline = json.loads(baseline_path.read_text())
        results["baseline_1k"] = {
            "started_at": baseline["started_at"],
            "endpoints": {
                k: baseline["endpoints"][k]
                for k in ("self", "verify", "refresh", "jwks", "login")
                if k in baseline["endpoints"]
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
    profile_missed(results)
    return 0 if all(row["pass"] for row in results["table"]) else 2


if __name__ == "__main__":
    sys.exit(main())
