"""Real faults for the outage tests: a TCP proxy that can refuse or black-hole traffic, and a
Redis server of the test's own. Never the shared PostgreSQL or Redis: a test cuts only the
path between the service and them, or a server it started itself.

    with TcpProxy("127.0.0.1", 5432) as proxy:   # point the service at proxy.port
        proxy.blackhole()   # a partition: connections open, bytes go nowhere, clients hang
        proxy.refuse()      # a server that is down: new connections are refused
        proxy.restore()     # traffic flows again
"""

import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time

PASS, REFUSE, BLACKHOLE = "pass", "refuse", "blackhole"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream, in one of three modes."""

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.mode = PASS
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._closed = False

    # -- control -------------------------------------------------------------------------
    def start(self) -> "TcpProxy":
        self._listen()
        return self

    def close(self) -> None:
        self._closed = True
        self._stop_listening()
        self._drop_connections()

    def restore(self) -> None:
        """Traffic flows again; connections cut by `refuse` stay cut (clients reconnect)."""
        self.mode = PASS
        if self._listener is None:
            self._listen()

    def refuse(self) -> None:
        """The upstream is down: every open connection is reset, new ones are refused."""
        self.mode = REFUSE
        self._stop_listening()
        self._drop_connections()

    def blackhole(self) -> None:
        """A partition: connections are accepted and kept, but no byte goes through, so a
        client waits for its own timeout."""
        self.mode = BLACKHOLE
        if self._listener is None:
            self._listen()

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _drop_connections(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                # SO_LINGER 0: close with a reset, as a crashed server's kernel would.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
            with contextlib.suppress(OSError):
                # close() alone does not end a socket another thread is blocked reading (a
                # pipe thread): the peer, e.g. a PostgreSQL session, would live on.
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._sockets.update(socks)

    def _accept(self, listener: socket.socket) -> None:
        while not self._closed:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            self._track(client)
            if self.mode == BLACKHOLE:
                continue  # held open, never answered
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._track(upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                # A partition that starts mid-connection swallows whatever comes next.
                while self.mode == BLACKHOLE and not self._closed:
                    time.sleep(0.05)
                if self.mode != PASS:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class RedisServer:
    """A `redis-server` of the test's own on a free port, without persistence, so it can be
    stopped, restarted (losing everything, like a real restart without persistence) or
    paused without touching the shared one."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="authsvc-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
