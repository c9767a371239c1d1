#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests use are up; start local ones if they are down.
set -uo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || python3 - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
}
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

if ! pg_up; then
  echo "PostgreSQL is down on 127.0.0.1:5432; starting it"
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
fi
if ! redis_up; then
  echo "Redis is down on 127.0.0.1:6379; starting it"
  if command -v redis-server >/dev/null; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  fi
  for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
fi

ok=1
pg_up || { echo "error: PostgreSQL is not reachable on 127.0.0.1:5432 (user postgres). Start it, or set TEST_DATABASE_URL." >&2; ok=0; }
redis_up || { echo "error: Redis is not reachable on 127.0.0.1:6379. Start it, or set TEST_REDIS_URL." >&2; ok=0; }
[ "$ok" = 1 ] || exit 1
echo "PostgreSQL and Redis are up."
