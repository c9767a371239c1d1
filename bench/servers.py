"""The processes a bench run starts: gunicorn with the production settings, and
`manage.py purge_expired` beside a phase."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.config import (
    PORT,
    ROOT,
    VAR,
)


def stop_group(proc: subprocess.Popen | None) -> None:
    """SIGTERM a server started in its own process group, SIGKILL it after 15 s."""
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


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
                # The Dockerfile's flags, over gunicorn.conf.py (read from the working
                # directory: gthread, GUNICORN_THREADS); GUNICORN_CMD_ARGS adds to them.
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

    def restarts(self) -> int:
        """Workers started after the first ones (recycled by gunicorn.conf.py's memory guard
        or request backstop, or crashed): each boot lands in whichever phase it falls in."""
        self.logfile.flush()
        booted = (VAR / "gunicorn.log").read_text().count("Booting worker with pid")
        return max(0, booted - self.workers)

    def __exit__(self, *exc):
        stop_group(self.proc)
        self.logfile.close()
