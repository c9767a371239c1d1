"""The distributed forms of the engines, started by the tests on free ports: a 3-master Redis
Cluster, a Sentinel-managed master with a replica and three Sentinels, and PgBouncer in
transaction-pooling mode in front of the test database. Debian's `redis-server` and
`pgbouncer` packages (scripts/test-tools.sh); without them the tests skip, except in CI.

Each is a context manager; a test module starts one per module (they take a few seconds).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.faults import free_port
from tests.tools import require


def _wait(predicate, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            value = predicate()
            if value:
                return value
        time.sleep(step)
    raise RuntimeError(f"timed out waiting for {what}")


def _cluster_ok(node: redis.Redis) -> bool:
    info = node.execute_command("CLUSTER INFO")
    if isinstance(info, bytes | str):
        return "cluster_state:ok" in (info.decode() if isinstance(info, bytes) else info)
    return info.get("cluster_state") == "ok"


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True


class _Processes:
    stop_signal = signal.SIGTERM

    def __init__(self, prefix: str):
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.processes: dict[int, subprocess.Popen] = {}

    def spawn(self, port: int, args: list[str], **popen) -> None:
        log = open(self.dir / f"{port}.log", "w")  # noqa: SIM115 - the process keeps it
        self.processes[port] = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir, **popen
        )
        log.close()

    def kill(self, port: int) -> None:
        process = self.processes.pop(port, None)
        if process is not None:
            # PgBouncer's SIGTERM and PostgreSQL's SIGINT end their connections cleanly at
            # once (the test database is dropped right after); Redis exits at once.
            process.send_signal(self.stop_signal)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def stop(self) -> None:
        for port in list(self.processes):
            self.kill(port)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        """Started (each subclass's `start`), or every process it began stopped again."""
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def log(self, port: int) -> str:
        path = self.dir / f"{port}.log"
        return path.read_text() if path.exists() else ""


def _redis_args(binary: str, port: int, *extra: str) -> list[str]:
    return [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dbfilename", f"dump-{port}.rdb",
        *extra,
    ]  # fmt: skip


class RedisCluster(_Processes):
    """Three masters, no replicas, every slot covered; `url` is its redis+cluster:// URL."""

    def __init__(self, masters: int = 3):
        super().__init__("authsvc-cluster-")
        self.ports = [free_port() for _ in range(masters)]
        # Their own bus ports: the default, port + 10000, may not exist.
        self.bus_ports = [free_port() for _ in range(masters)]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def start(self) -> "RedisCluster":
        binary = require("redis-server", "apt-get install redis-server")
        for port, bus_port in zip(self.ports, self.bus_ports, strict=True):
            self.spawn(
                port,
                _redis_args(
                    binary,
                    port,
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    f"nodes-{port}.conf",
                    "--cluster-node-timeout",
                    "2000",
                    "--cluster-port",
                    str(bus_port),
                ),
            )
        nodes = [redis.Redis(host="127.0.0.1", port=p, socket_timeout=2) for p in self.ports]
        for port, node in zip(self.ports, nodes, strict=True):
            try:
                _wait(node.ping, 10, "a cluster node")
            except RuntimeError:
                raise RuntimeError(f"redis-server did not start: {self.log(port)}") from None
        # The slots split evenly, then every node meets the first (gossip does the rest).
        share = 16384 // len(nodes)
        for i, node in enumerate(nodes):
            last = 16383 if i == len(nodes) - 1 else (i + 1) * share - 1
            node.execute_command("CLUSTER ADDSLOTSRANGE", i * share, last)
        for node in nodes[1:]:
            node.execute_command("CLUSTER MEET", "127.0.0.1", self.ports[0], self.bus_ports[0])
        for node in nodes:
            _wait(lambda n=node: _cluster_ok(n), 30, "cluster_state:ok")
        return self


class RedisSentinels(_Processes):
    """A master, one replica and three Sentinels watching them as `service`."""

    service = "authsvc"

    def __init__(self, sentinels: int = 3):
        super().__init__("authsvc-sentinel-")
        self.master_port = free_port()
        self.replica_port = free_port()
        self.sentinel_ports = [free_port() for _ in range(sentinels)]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.service}/0"

    def start(self) -> "RedisSentinels":
        binary = require("redis-server", "apt-get install redis-server")
        self.spawn(self.master_port, _redis_args(binary, self.master_port))
        self.spawn(
            self.replica_port,
            _redis_args(
                binary, self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port)
            ),
        )
        replica = redis.Redis(host="127.0.0.1", port=self.replica_port, socket_timeout=2)
        _wait(lambda: replica.info("replication")["master_link_status"] == "up", 20, "replica")
        for port in self.sentinel_ports:
            conf = self.dir / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
                f"sentinel monitor {self.service} 127.0.0.1 {self.master_port} 2\n"
                f"sentinel down-after-milliseconds {self.service} 1000\n"
                f"sentinel failover-timeout {self.service} 5000\n"
                f"sentinel parallel-syncs {self.service} 1\n"
            )
            self.spawn(port, [binary, str(conf), "--sentinel"])
        for port in self.sentinel_ports:
            sentinel = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
            # Each Sentinel knows the replica and the other Sentinels before a failover.
            _wait(
                lambda s=sentinel: (
                    int(s.sentinel_master(self.service)["num-other-sentinels"])
                    == len(self.sentinel_ports) - 1
                    and s.sentinel_slaves(self.service)
                ),
                30,
                "the sentinels to see each other",
            )
        return self

    def master_address(self) -> tuple[str, int]:
        sentinel = redis.Redis(host="127.0.0.1", port=self.sentinel_ports[0], socket_timeout=2)
        host, port = sentinel.sentinel_get_master_addr_by_name(self.service)
        return host, int(port)

    def replica_ports(self) -> list[int]:
        """The replicas' ports as the Sentinels see them now (a failover swaps the roles)."""
        sentinel = redis.Redis(host="127.0.0.1", port=self.sentinel_ports[0], socket_timeout=2)
        return [int(r["port"]) for r in sentinel.sentinel_slaves(self.service)]

    def failover(self, timeout: float = 30) -> int:
        """SENTINEL FAILOVER: the replica becomes the master; returns the new master's port."""
        old = self.master_address()[1]
        sentinel = redis.Redis(host="127.0.0.1", port=self.sentinel_ports[0], socket_timeout=2)
        sentinel.execute_command("SENTINEL FAILOVER", self.service)
        new = _wait(
            lambda: (port := self.master_address()[1]) != old and port,
            timeout,
            "the failover",
        )
        promoted = redis.Redis(host="127.0.0.1", port=new, socket_timeout=2)
        _wait(lambda: promoted.info("replication")["role"] == "master", timeout, "promotion")
        demoted = redis.Redis(host="127.0.0.1", port=old, socket_timeout=2)
        _wait(lambda: demoted.info("replication")["role"] == "slave", timeout, "demotion")
        return new


class PgBouncer(_Processes):
    """PgBouncer in transaction-pooling mode in front of `database` on the shared server, on
    a free port, with a generated ini and userlist (trust, like the shared server). The
    per-connection timeouts the app sends as startup options elsewhere are set here by
    `connect_query`, as docs/production.md tells operators to."""

    def __init__(self, *, host: str, port: int, database: str, user: str, pool_size: int = 5):
        super().__init__("authsvc-pgbouncer-")
        self.listen_port = free_port()
        self.upstream = (host or "127.0.0.1", int(port or 5432))
        self.database, self.user, self.pool_size = database, user, pool_size

    def url(self, **query: str) -> str:
        tail = "&".join(f"{k}={v}" for k, v in query.items())
        return f"postgres://{self.user}@127.0.0.1:{self.listen_port}/{self.database}" + (
            f"?{tail}" if tail else ""
        )

    def start(self) -> "PgBouncer":
        binary = require("pgbouncer", "apt-get install pgbouncer")
        host, port = self.upstream
        (self.dir / "userlist.txt").write_text(f'"{self.user}" ""\n')
        ini = self.dir / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"{self.database} = host={host} port={port} dbname={self.database} "
            f"pool_size={self.pool_size} "
            "connect_query='SET statement_timeout = 4250; SET lock_timeout = 4250'\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.listen_port}\n"
            f"unix_socket_dir =\nauth_type = trust\nauth_file = {self.dir}/userlist.txt\n"
            "pool_mode = transaction\n"
            "max_client_conn = 200\n"
            "idle_transaction_timeout = 20\n"
            # Not `options`: the app must not send it (AUTHSVC_DB_POOLER=pgbouncer).
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.dir}/pgbouncer.log\npidfile = {self.dir}/pgbouncer.pid\n"
            "admin_users = postgres\n"
        )
        # PgBouncer refuses to run as root: as root, the child becomes `postgres` itself (no
        # runuser in between, so killing the child kills PgBouncer).
        popen = {}
        if os.geteuid() == 0:
            popen = {"user": "postgres", "group": "postgres", "extra_groups": []}
            for path in (self.dir, *self.dir.iterdir()):
                shutil.chown(path, "postgres", "postgres")
        self.spawn(self.listen_port, [binary, str(ini)], **popen)
        try:
            _wait(lambda: _listening(self.listen_port), 10, "pgbouncer")
        except RuntimeError:
            log = (
                (self.dir / "pgbouncer.log").read_text()
                if (self.dir / "pgbouncer.log").exists()
                else ""
            )
            raise RuntimeError(
                f"pgbouncer did not start: {self.log(self.listen_port)}{log}"
            ) from None
        return self


class PostgresReplicaPair(_Processes):
    """A PostgreSQL primary of the test's own (initdb, from the server binaries the shared
    server runs on) and a streaming replica made by `pg_basebackup -R`, each on a free port.
    Not the shared server: its pg_hba.conf allows no replication connection, and a test
    must not reconfigure it."""

    stop_signal = signal.SIGINT  # a fast shutdown; SIGTERM would wait for every client

    def __init__(self, database: str = "authsvc"):
        super().__init__("authsvc-pgpair-")
        self.database = database
        self.primary_port, self.replica_port = free_port(), free_port()
        self.bin = self._bindir()

    @staticmethod
    def _bindir() -> Path | None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        return found[-1].parent if found else None

    def url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{self.database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def _as_postgres(self) -> dict:
        # initdb and postgres refuse to run as root.
        if os.geteuid() == 0:
            return {"user": "postgres", "group": "postgres", "extra_groups": []}
        return {}

    def _run(self, *args: str) -> None:
        subprocess.run(
            args, check=True, capture_output=True, cwd=self.dir, timeout=120, **self._as_postgres()
        )

    def _server(self, data: Path, port: int) -> None:
        self.spawn(
            port,
            [
                str(self.bin / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(self.dir),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "shared_buffers=16MB",
                "-c",
                "max_connections=40",
            ],
            **self._as_postgres(),
        )
        _wait(lambda: self.connect(port), 30, f"postgres on {port}")

    def connect(self, port: int, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="postgres",
            dbname=dbname,
            autocommit=True,
            connect_timeout=2,
        )

    def start(self) -> "PostgresReplicaPair":
        if self.bin is None:
            require("initdb", "postgresql")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        primary, replica = self.dir / "primary", self.dir / "replica"
        self._run(str(self.bin / "initdb"), "-D", str(primary), "-U", "postgres",
                  "--auth=trust", "--no-sync")  # fmt: skip
        self._server(primary, self.primary_port)
        with self.connect(self.primary_port) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self._run(
            str(self.bin / "pg_basebackup"),
            "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
            "-D", str(replica), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
        )  # fmt: skip
        self._server(replica, self.replica_port)
        with self.connect(self.replica_port) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        return self

    def caught_up(self) -> bool:
        """Whether the replica has replayed everything the primary has written so far."""
        with self.connect(self.primary_port) as primary:
            lsn = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        with self.connect(self.replica_port) as replica:
            return replica.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]
            ).fetchone()[0]

    def pause_replay(self) -> None:
        with self.connect(self.replica_port) as replica:
            replica.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self.connect(self.replica_port) as replica:
            replica.execute("SELECT pg_wal_replay_resume()")
