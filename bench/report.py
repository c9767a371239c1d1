"""The results: each endpoint judged against its floor, the table, the chart, the machine."""

import os
import sys
from pathlib import Path

from bench.config import (
    log,
)


def judge(results: dict) -> list[dict]:
    e, a, paired = results["endpoints"], results["argon2"], results["paired_floor_rps"]
    rows = [
        ("floor: JsonResponse (mean)", "floor_json", None, None, None),
        ("floor: DRF hello (mean)", "floor_drf", paired["floor_drf"], "x JsonResponse", None),
        ("GET /auth/self/", "self", paired["self"], "x DRF", 0.80),
        ("POST /auth/verify/", "verify", paired["verify"], "x DRF", 0.50),
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
        least = e.get(f"least_{key}")
        if least and floor:
            # The least that endpoint could do (authsvc/bench_views.py), against the same
            # floor: how far the target is reachable on this stack and machine at all.
            table.append(
                {
                    "endpoint": f"  least possible {key}",
                    **{k: least[k] for k in ("rps", "p50_ms", "p99_ms", "errors")},
                    "ratio": round(least["rps"] / floor, 3),
                    "unit": unit,
                    "target": None,
                    "pass": least["errors"] == 0,
                    "reference": True,
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
    # Isolation: the p99 of a cheap request while logins saturate the hashing capacity,
    # against its p99 alone (same connections, same run).
    for label, key in (("GET /auth/self/", "self"), ("POST /auth/refresh/", "refresh")):
        idle, under = e[f"{key}_idle"], e[f"{key}_under_login"]
        slower = under["p99_ms"] / idle["p99_ms"]
        table.append(
            {
                "endpoint": f"{label} p99 in a login storm",
                **{k: under[k] for k in ("rps", "p50_ms", "p99_ms", "errors")},
                "ratio": round(slower, 3),
                "unit": "x its idle p99",
                "target": 3.0,
                "pass": slower < 3.0 and under["errors"] == 0,
                "at_most": True,
            }
        )
    baseline = results.get("baseline_1k")
    if baseline:
        # Ratios to the floor of their own run, so two runs compare on a noisy machine.
        for key in ("self", "verify", "refresh", "jwks", "login"):
            if key not in baseline["endpoints"]:
                continue
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
    # Footprint: the largest worker after every phase, and Redis per seeded session.
    rss = max(w["peak_rss_mb"] for w in results["workers"])
    table.append(
        {
            "endpoint": "worker peak RSS, MB (< 100)",
            "rps": rss,
            "p50_ms": None,
            "p99_ms": None,
            "errors": 0,
            "ratio": None,
            "unit": None,
            "target": 100,
            "pass": rss < 100,
            "at_most": True,
        }
    )
    least = results.get("least_worker")
    if least:
        # bench/least_worker.py: the design card's packages alone, one hash on a thread.
        table.append(
            {
                "endpoint": "  least possible worker, peak MB",
                "rps": least["after_hash"]["peak_rss_mb"],
                "p50_ms": None,
                "p99_ms": None,
                "errors": 0,
                "ratio": None,
                "unit": None,
                "target": None,
                "pass": True,
                "reference": True,
            }
        )
    per_session = results["storage"]["redis_bytes_per_session"]
    table.append(
        {
            "endpoint": "Redis bytes per session (<= 512)",
            "rps": per_session,
            "p50_ms": None,
            "p99_ms": None,
            "errors": 0,
            "ratio": None,
            "unit": None,
            "target": 512,
            "pass": per_session <= 512,
            "at_most": True,
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
            f"{('ref' if row.get('reference') else 'PASS') if row['pass'] else 'FAIL'}"
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
    if "worker_restarts" in results:
        print(f"workers recycled during the run: {results['worker_restarts']}")
    if results.get("comparison"):
        print_comparison(results["comparison"])
    print(
        f"machine: {results['machine']['cpu']} x{results['machine']['cores']}, "
        f"{results['machine']['memory_gb']} GB; scale {results['scale']}"
    )


def print_comparison(rows: list[dict]) -> None:
    """authsvc against dj-rest-auth + simplejwt, each endpoint run right after the other."""
    print()
    print("against dj-rest-auth 7.2 + simplejwt 5.5 (cookies, rotation + blacklist, same argon2)")
    header = (
        f"{'endpoint':36} {'authsvc req/s':>13} {'p99 ms':>8} {'peer req/s':>11} "
        f"{'p99 ms':>8} {'errors':>9} {'authsvc/peer':>13}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ours, theirs = row["authsvc"], row["peer"]
        ratio = ours["rps"] / theirs["rps"] if theirs["rps"] else float("inf")
        print(
            f"{row['endpoint']:36} {ours['rps']:>13.1f} {ours['p99_ms']:>8.2f} "
            f"{theirs['rps']:>11.1f} {theirs['p99_ms']:>8.2f} "
            f"{str(ours['errors']) + '/' + str(theirs['errors']):>9} {ratio:>12.2f}x"
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
