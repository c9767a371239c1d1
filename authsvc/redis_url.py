"""`REDIS_URL`'s three forms, parsed in one place, and the one way every Redis user (the
cache and session store through django-redis, the events relay) gets a client.

    redis://[[user]:password@]host:6379/<db>          one server (rediss:// for TLS)
    redis+sentinel://[[user]:password@]host1:26379,host2:26379/<service>/<db>
                                                      the master Sentinel names <service>
    redis+cluster://[[user]:password@]host1:7000,host2:7001[/0]
                                                      Redis Cluster (db 0 only)

`rediss+sentinel://` and `rediss+cluster://` speak TLS to the data nodes. The password is
the data nodes'; Sentinels that require one of their own take `?sentinel_password=...`.

Cluster-safe by construction: no Lua script and no MULTI of authsvc touches more than one
key (sessions_store/backends/redis.py); commands on several keys go in plain pipelines,
which the cluster client splits per node.
"""

import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import redis
from django.core.exceptions import ImproperlyConfigured
from django_redis.pool import ConnectionFactory
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from redis.sentinel import Sentinel

STANDALONE, SENTINEL, CLUSTER = "standalone", "sentinel", "cluster"
_SCHEMES = {
    "redis": (STANDALONE, False),
    "rediss": (STANDALONE, True),
    "unix": (STANDALONE, False),
    "redis+sentinel": (SENTINEL, False),
    "rediss+sentinel": (SENTINEL, True),
    "redis+cluster": (CLUSTER, False),
    "rediss+cluster": (CLUSTER, True),
}
DEFAULT_PORTS = {STANDALONE: 6379, SENTINEL: 26379, CLUSTER: 6379}


@dataclass(frozen=True)
class RedisTarget:
    kind: str
    url: str
    hosts: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)
    tls: bool = False


def redis_target(url: str) -> RedisTarget:
    """Parse `url`; ImproperlyConfigured names what is wrong (never the password)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _SCHEMES:
        raise ImproperlyConfigured(
            f"REDIS_URL must start with one of {', '.join(s + '://' for s in _SCHEMES)}"
        )
    kind, tls = _SCHEMES[scheme]
    if kind == STANDALONE:
        return RedisTarget(kind=kind, url=url, tls=tls)
    # urlparse cannot read several hosts; split the netloc by hand.
    rest = url.split("://", 1)[1]
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    credentials, _, hostlist = netloc.rpartition("@")
    username, _, password = credentials.partition(":") if credentials else ("", "", "")
    hosts = tuple(_host(item, DEFAULT_PORTS[kind]) for item in hostlist.split(",") if item)
    if not hosts:
        raise ImproperlyConfigured(f"REDIS_URL ({scheme}://) names no host")
    params = {key: values[-1] for key, values in parse_qs(query).items()}
    parts = [unquote(part) for part in path.split("/") if part]
    common = {
        "kind": kind,
        "url": url,
        "hosts": hosts,
        "username": unquote(username) or None,
        "password": unquote(password) or None,
        "tls": tls,
    }
    if kind == SENTINEL:
        if not parts:
            raise ImproperlyConfigured(
                "REDIS_URL (redis+sentinel://) must name the master: "
                "redis+sentinel://host:26379,host2:26379/<service>/<db>"
            )
        return RedisTarget(
            **common,
            service=parts[0],
            db=_db(parts[1] if len(parts) > 1 else "0"),
            sentinel_password=params.get("sentinel_password"),
        )
    if parts and _db(parts[0]) != 0:
        raise ImproperlyConfigured("REDIS_URL (redis+cluster://): Redis Cluster has db 0 only")
    return RedisTarget(**common)


def _host(item: str, default_port: int) -> tuple[str, int]:
    host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
    try:
        return host.strip("[]"), int(port) if port else default_port
    except ValueError:
        raise ImproperlyConfigured(f"REDIS_URL: bad port in {item!r}") from None


def _db(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ImproperlyConfigured(
            f"REDIS_URL: the database must be a number, not {text!r}"
        ) from None


def redis_caches(url: str, *, timeout_ms: int) -> dict:
    """CACHES for `url`: the shared cache (which the session store also uses) and the
    rate-limit counters' failover cache, with the request path's short timeouts."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            # A list: django-redis would split a string at the commas of a host list.
            "LOCATION": [url],
            "KEY_PREFIX": "authsvc",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "CONNECTION_FACTORY": "authsvc.redis_url.RedisConnectionFactory",
                "SOCKET_CONNECT_TIMEOUT": timeout_ms / 1000,
                "SOCKET_TIMEOUT": timeout_ms / 1000,
                # One immediate retry covers a connection dropped by a Redis restart or a
                # Sentinel failover; more, with backoff (redis-py's default), would stall
                # every request for seconds while Redis is down instead of falling back to
                # the database. A timeout is not retried: a slow Redis would only double
                # the wait.
                "CONNECTION_POOL_KWARGS": {
                    "health_check_interval": 30,
                    "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
                },
            },
        },
        # django-ratelimit's counters (authsvc/ratelimit.py): Redis behind the breaker, this
        # process's memory while Redis is unreachable.
        "ratelimit": {
            "BACKEND": "authsvc.cache.FailoverCache",
            "OPTIONS": {"PRIMARY": "default"},
        },
    }


def redis_client(
    url: str,
    *,
    socket_timeout: float,
    socket_connect_timeout: float | None = None,
    **connection_kwargs: Any,
) -> redis.Redis | RedisCluster:
    """A client of `url`'s server, master or cluster, with these timeouts on every data
    connection (and the Sentinels'). Extra keyword arguments (`retry`,
    `health_check_interval`) go to each connection."""
    target = redis_target(url)
    timeouts = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_connect_timeout or socket_timeout,
    }
    if target.kind == STANDALONE:
        return redis.Redis.from_url(url, **timeouts, **connection_kwargs)
    auth = {"username": target.username, "password": target.password, "ssl": target.tls}
    if target.kind == SENTINEL:
        sentinel = Sentinel(
            list(target.hosts),
            sentinel_kwargs={**timeouts, "password": target.sentinel_password},
            **timeouts,
        )
        # The pool asks the Sentinels for the master on each new connection, and a
        # connection that meets a demoted master (READONLY) is dropped: a failover costs
        # the requests in flight, then the next connection finds the new master.
        return sentinel.master_for(
            target.service, db=target.db, **auth, **timeouts, **connection_kwargs
        )
    connection_kwargs.pop("health_check_interval", None)  # per-node pools check themselves
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
        **auth,
        **timeouts,
        **connection_kwargs,
    )


class RedisConnectionFactory(ConnectionFactory):
    """django-redis's factory (`OPTIONS["CONNECTION_FACTORY"]`) for the three forms: a
    plain URL keeps django-redis's own pools; Sentinel and Cluster get one client per
    process and URL, built by `redis_client` (each is thread-safe and keeps its own pools)."""

    _clients: dict[str, Any] = {}
    _clients_lock = threading.Lock()

    def connect(self, url: str):
        if redis_target(url).kind == STANDALONE:
            return super().connect(url)
        with self._clients_lock:
            client = self._clients.get(url)
            if client is None:
                client = self._clients[url] = redis_client(
                    url,
                    socket_timeout=self.options.get("SOCKET_TIMEOUT"),
                    socket_connect_timeout=self.options.get("SOCKET_CONNECT_TIMEOUT"),
                    **self.pool_cls_kwargs,
                )
        return client

    def disconnect(self, connection) -> None:
        if isinstance(connection, RedisCluster):
            connection.disconnect_connection_pools()
            return
        super().disconnect(connection)

    @classmethod
    def forget(cls) -> None:
        """Close and drop the Sentinel and Cluster clients (tests that swap servers)."""
        with cls._clients_lock:
            clients, cls._clients = cls._clients, {}
        for client in clients.values():
            client.close()
