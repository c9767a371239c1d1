"""An example "authorization service": it reads authsvc's `session.created` events and gives
each new session its user's permissions with `PUT /auth/sessions/<sid>/claims/`.

Several instances share the work through one Redis consumer group: each entry goes to one
of them, and stays pending until that one acknowledges it (XACK) after authsvc took the
claims. An instance that crashes leaves its entries pending; another takes them over once
they have been idle `min_idle_ms` (XAUTOCLAIM), and a restarted one under the same name
reads its own back first. Delivery is therefore at least once: the handler is idempotent
(setting the same claims twice is one result), which is the deduplication it needs.

    AUTHSVC_URL=http://127.0.0.1:8000 EVENTS_REDIS_URL=redis://127.0.0.1:6379/0 \\
    AUTHZ_CLIENT_ID=... AUTHZ_CLIENT_SECRET=... python examples/authz/authz.py

Standard library, `redis`, and authsvc-verifier's ServiceAuthClient (clients/python).
"""

import contextlib
import json
import logging
import os
import signal
import socket
import threading
import urllib.error
import urllib.request

import redis
from authsvc_verifier import AuthsvcUnavailable, ServiceAuthClient, ServiceAuthError

logger = logging.getLogger("authz")

# Who may do what: the tiny static table this example decides by. Every user gets
# `default`; the users named under `users` (by authsvc's user id) get theirs too.
POLICY = {"default": ["orders:read"], "users": {}}


def permissions_for(user_id: str, policy: dict = POLICY) -> list[str]:
    granted = set(policy.get("default", [])) | set(policy.get("users", {}).get(user_id, []))
    return sorted(granted)


class Retry(Exception):
    """A failure that may pass (authsvc or the network down): leave the entry pending."""


class Claims:
    """`PUT /auth/sessions/<sid>/claims/` with a service token of scope `sessions:claims`."""

    def __init__(self, base_url: str, client: ServiceAuthClient, *, timeout: float = 5.0):
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("authsvc's URL is http(s)://...")
        self.base_url, self.client, self.timeout = base_url.rstrip("/"), client, timeout

    def put(self, session_id: str, permissions: list[str], *, retried: bool = False) -> bool:
        """True when authsvc took them, False when the session is gone (nothing to do)."""
        scope, audience = "sessions:claims", self.client.authsvc_audience
        try:
            headers = self.client.headers(scope=scope, audience=audience)
        except (AuthsvcUnavailable, ServiceAuthError) as exc:
            raise Retry(f"no service token: {exc}") from exc
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            f"{self.base_url}/auth/sessions/{session_id}/claims/",
            method="PUT",
            data=json.dumps({"permissions": permissions, "attributes": {}}).encode(),
            headers={**headers, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):  # noqa: S310
                return True
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError as exc:
            raise Retry(f"authsvc unreachable: {exc}") from exc
        if status == 404:
            return False  # logged out (or expired) before we got to it
        if status == 401 and not retried:
            # The cached token may have been revoked or have expired early: a new one.
            self.client.invalidate(scope=scope, audience=audience)
            return self.put(session_id, permissions, retried=True)
        if status == 400:
            raise ValueError(f"authsvc refused the claims for session {session_id} (400)")
        # 401/403: this service's client is disabled or lacks the scope; 5xx: authsvc is
        # failing. Either may be fixed without us: keep the entry.
        raise Retry(f"authsvc answered HTTP {status}")


class Consumer:
    def __init__(
        self,
        redis_client: redis.Redis,
        claims: Claims,
        *,
        stream: str = "authsvc:events",
        group: str = "authz",
        name: str | None = None,
        policy: dict = POLICY,
        block_ms: int = 1000,
        min_idle_ms: int = 30_000,
        batch: int = 100,
    ):
        self.redis, self.claims, self.policy = redis_client, claims, policy
        self.stream, self.group = stream, group
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.block_ms, self.min_idle_ms, self.batch = block_ms, min_idle_ms, batch
        self._claim_from = "0-0"
        self._own_pending_read = False
        self._stop = threading.Event()

    def ensure_group(self) -> None:
        """The group starts at the stream's end the first time: sessions created before
        the service was deployed are not its business (MKSTREAM: before authsvc publishes)."""
        try:
            self.redis.xgroup_create(self.stream, self.group, id="$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def handle(self, fields: dict[str, str]) -> None:
        """Raises Retry to leave the entry pending; anything else is done with."""
        if fields.get("type") != "session.created":
            return
        data = json.loads(fields.get("data") or "{}")
        if data.get("kind", "api") != "api":
            return  # an admin-site session carries no access tokens
        permissions = permissions_for(fields["user_id"], self.policy)
        if self.claims.put(fields["session_id"], permissions):
            logger.info("session %s: %s", fields["session_id"], " ".join(permissions))

    def step(self) -> int:
        """One round: entries idle too long in anyone's hands, then our own left from a
        previous run, then new ones (blocking up to block_ms). The number handled."""
        _cursor, claimed, *_ = self.redis.xautoclaim(
            self.stream, self.group, self.name, self.min_idle_ms,
            start_id=self._claim_from, count=self.batch,
        )
        self._claim_from = _text(_cursor)
        entries = list(claimed)
        if not self._own_pending_read:
            entries += _entries(self.redis.xreadgroup(
                self.group, self.name, {self.stream: "0"}, count=self.batch
            ))
            self._own_pending_read = True
        if not entries:
            entries = _entries(self.redis.xreadgroup(
                self.group, self.name, {self.stream: ">"}, count=self.batch, block=self.block_ms
            ))
        done, seen = 0, set()
        for entry_id, raw in entries:
            if raw is None or entry_id in seen:
                continue  # deleted from the stream while pending, or claimed and ours too
            seen.add(entry_id)
            fields = {_text(k): _text(v) for k, v in raw.items()}
            try:
                self.handle(fields)
            except Retry as exc:
                # Pending, idle from now: XAUTOCLAIM gives it back after min_idle_ms.
                logger.warning("event %s kept for a retry: %s", fields.get("id"), exc)
                continue
            except (KeyError, ValueError) as exc:
                logger.error("event %s dropped: %s", fields.get("id"), exc)
            self.redis.xack(self.stream, self.group, entry_id)
            done += 1
        return done

    def run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                if failures:
                    self.ensure_group()  # the stream may have been deleted meanwhile
                self.step()
                failures = 0
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as exc:
                failures += 1
                logger.warning("redis: %s; retrying", exc)
                self._stop.wait(min(0.1 * 2**failures, 5.0))

    def stop(self) -> None:
        self._stop.set()


def _entries(answer) -> list:
    return [entry for _stream, entries in answer or [] for entry in entries]


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s authz %(message)s")
    base_url = os.environ.get("AUTHSVC_URL", "http://127.0.0.1:8000")
    client = ServiceAuthClient(
        base_url, os.environ["AUTHZ_CLIENT_ID"], os.environ["AUTHZ_CLIENT_SECRET"]
    )
    policy = POLICY
    if os.environ.get("AUTHZ_POLICY"):
        with open(os.environ["AUTHZ_POLICY"]) as file:
            policy = json.load(file)
    redis_client = redis.Redis.from_url(
        os.environ.get("EVENTS_REDIS_URL", "redis://127.0.0.1:6379/0"), socket_timeout=5
    )
    consumer = Consumer(
        redis_client, Claims(base_url, client),
        stream=os.environ.get("AUTHSVC_EVENTS_STREAM", "authsvc:events"),
        name=os.environ.get("AUTHZ_CONSUMER_NAME"), policy=policy,
    )
    signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
    consumer.ensure_group()
    logger.info("consumer %s of group %s on %s", consumer.name, consumer.group, consumer.stream)
    with contextlib.suppress(KeyboardInterrupt):
        consumer.run()


if __name__ == "__main__":
    main()
