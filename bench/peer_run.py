"""The peer of `make bench`'s comparison: dj-rest-auth + djangorestframework-simplejwt
(bench/peer/), installed from PyPI at pinned versions into a virtualenv of its own
(var/bench/peer-venv), on its own PostgreSQL database (authsvc_bench_peer), seeded with the
same users and password, with authsvc's argon2id cost, served by gunicorn with the same
workers and threads as authsvc's."""

import hashlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.config import PASSWORD, PORT, REFRESH_CHAINS, ROOT, VAR, log
from bench.seed import recreate_database
from bench.servers import stop_group

PEER = ROOT / "bench" / "peer"
VENV = VAR / "peer-venv"
PEER_PORT = PORT + 1
# Chains of refresh tokens: as many as authsvc's Chains can hand out.
PEER_CHAINS = 64 * REFRESH_CHAINS


def install() -> Path:
    """The peer's virtualenv, (re)installed when bench/peer/requirements.txt changed."""
    requirements = PEER / "requirements.txt"
    stamp = VENV / "requirements.sha256"
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    python = VENV / "bin" / "python"
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        log(f"peer: installing bench/peer/requirements.txt into {VENV}")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603
            [str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True
        )
        stamp.write_text(wanted)
    return python


def _write_keys(directory: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tokens.keys.files import RSA_KEY_BITS

    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    (directory / "private.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "public.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


class Peer:
    def __init__(self, n: int, workers: int, threads: int, argon2: dict):
        self.n, self.workers, self.threads = n, workers, threads
        database = os.environ.get(
            "BENCH_PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/authsvc_bench_peer"
        )
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "peer.settings",
            "PEER_DATABASE_URL": database,
            "PEER_KEYS_DIR": str(VAR / "peer-keys"),
            "AUTHSVC_ARGON2_MEMORY_KIB": str(argon2["memory_kib"]),
            "AUTHSVC_ARGON2_TIME_COST": str(argon2["time_cost"]),
            "AUTHSVC_ARGON2_PARALLELISM": str(argon2["parallelism"]),
        }
        self.tokens = VAR / "peer_self_tokens.txt"
        self.refresh_all = VAR / "peer_refresh_tokens.txt"
        self.proc = None

    def prepare(self) -> None:
        self.python = install()
        recreate_database(self.env["PEER_DATABASE_URL"])
        _write_keys(VAR / "peer-keys")
        run = {"cwd": PEER, "env": self.env, "check": True}
        migrate = [str(self.python), "manage.py", "migrate", "--noinput", "-v", "0"]
        subprocess.run(migrate, **run)  # noqa: S603
        subprocess.run(  # noqa: S603
            [
                str(self.python),
                "seed.py",
                str(self.n),
                PASSWORD,
                str(self.tokens),
                str(self.refresh_all),
                str(PEER_CHAINS),
            ],
            **run,
        )
        self.free = self.refresh_all.read_text().split()

    def take_chains(self, path: Path) -> None:
        """Refresh tokens no earlier phase used: a rotated one is blacklisted."""
        chosen, self.free = self.free[:REFRESH_CHAINS], self.free[REFRESH_CHAINS:]
        path.write_text("\n".join(chosen) + "\n")

    def __enter__(self):
        self.logfile = open(VAR / "peer-gunicorn.log", "w")
        self.proc = subprocess.Popen(  # noqa: S603
            [
                str(self.python.parent / "gunicorn"),
                "peer.wsgi:application",
                "--workers",
                str(self.workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(self.threads),
                # As authsvc's gunicorn.conf.py: a listening socket per worker, so that
                # both spread the bench's connections over their workers alike.
                "--reuse-port",
                "--bind",
                f"127.0.0.1:{PEER_PORT}",
                "--access-logfile",
                "-",
                "--worker-tmp-dir",
                "/dev/shm",  # noqa: S108
                "--timeout",
                "30",
            ],
            cwd=PEER,
            env=self.env,
            stdout=self.logfile,
            stderr=self.logfile,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the peer's gunicorn exited; see {VAR / 'peer-gunicorn.log'}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PEER_PORT}/auth/user/", timeout=2)
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # up, and refusing an anonymous profile read
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the peer's gunicorn did not become ready in 60 s")

    def __exit__(self, *exc):
        stop_group(self.proc)
        self.logfile.close()
