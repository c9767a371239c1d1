"""argon2id measured in this process: one verify, and verifies per second of every core
(the floor the login endpoint is judged against)."""

import multiprocessing
import os
import statistics
import sys
import time

from bench.config import (
    PASSWORD,
)


def _hash_loop(args) -> int:
    encoded, seconds, nice = args
    from argon2 import PasswordHasher

    if nice and sys.platform == "linux":
        # The service's hashing threads run at AUTHSVC_HASHING_NICE (accounts/hashers.py):
        # the ceiling's processes too, so on a shared machine both get the same share of
        # the CPU against everything else; on an idle one the nice value changes nothing.
        os.setpriority(os.PRIO_PROCESS, 0, nice)

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
    """Verifies per second of `workers` processes doing nothing else, at the service's
    hashing priority."""
    from django.conf import settings

    nice = settings.AUTHSVC_HASHING_NICE
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        counts = pool.map(_hash_loop, [(encoded, seconds, nice)] * workers)
    return round(sum(counts) / seconds, 1)
