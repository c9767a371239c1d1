"""Load from wrk: one run of a Lua script against one path, its summary line parsed."""

import json
import os
import statistics
import subprocess

from bench.config import (
    DURATION,
    LUA,
    PORT,
    log,
)


def wrk(
    script: str, path: str, *, threads: int, connections: int, seconds: int, env=None, port=PORT
):
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
        f"http://127.0.0.1:{port}{path}",
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


def run_phase(
    name, script, path, *, threads=2, connections=16, seconds=DURATION, env=None, port=PORT
):
    log(f"{name}: wrk -t{threads} -c{connections} {seconds}s {path}")
    result = wrk_result(
        wrk(
            script,
            path,
            threads=threads,
            connections=connections,
            seconds=seconds,
            env=env,
            port=port,
        )
    )
    log(
        f"  {result['rps']} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
        f"errors {result['errors']}"
    )
    return result
