#!/usr/bin/env bash
# System tools some tests drive, installed from Debian's packages when missing (we are
# root on the CI machine). A tool that cannot be installed is reported, not fatal: its test
# says so and is skipped, except in CI (CI=true), where it fails.
set -uo pipefail

have_nginx() { command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; }

apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  command -v apt-get >/dev/null || return 1
  # Debian's nginx packages start no service where policy-rc.d forbids it (containers);
  # the test starts its own nginx on a free port either way.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
  $sudo apt-get update -qq >/dev/null 2>&1 || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null 2>&1
}

# nginx for tests/tokens/test_gateway_nginx.py (examples/gateway/). Debian's `nginx`
# (Debian 12 and later; its `nginx-light` is only a transitional name for it) has
# auth_request built in.
if ! have_nginx; then
  echo "nginx is missing; installing Debian's package"
  apt_install nginx || apt_install nginx-light || true
  have_nginx || echo "warning: nginx could not be installed; the gateway test will be skipped (apt-get install nginx-light)" >&2
fi

# Caddy for tests/ops/test_proxy.py (deploy/Caddyfile, compose.yaml's TLS proxy): its own
# validator, then a real Caddy from that file. Debian 12's package is 2.6.
if ! command -v caddy >/dev/null; then
  echo "caddy is missing; installing Debian's package"
  apt_install caddy || true
  command -v caddy >/dev/null || echo "warning: caddy could not be installed; the proxy tests will be skipped (apt-get install caddy)" >&2
fi
# (Like nginx's, Debian's package starts no service where policy-rc.d forbids it; the tests
# start their own Caddy on free ports either way.)

# Chromium and its WebDriver for the browser tests (tests/browser.py): Debian's packages,
# driven headless by Selenium.
if ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }; then
  echo "chromium or chromium-driver is missing; installing Debian's packages"
  apt_install chromium chromium-driver || true
  command -v chromedriver >/dev/null || echo "warning: chromium could not be installed; the browser tests will be skipped (apt-get install chromium chromium-driver)" >&2
fi

# The distributed engines of the scale-out tests (tests/engines.py): redis-server (a Redis
# Cluster and a Sentinel set; Sentinel is redis-server --sentinel) and PgBouncer. The
# replica test uses the PostgreSQL server binaries (initdb, pg_basebackup) already there
# for the shared server.
if ! command -v redis-server >/dev/null; then
  echo "redis-server is missing; installing Debian's redis-server"
  apt_install redis-server redis-tools || true
  command -v redis-server >/dev/null || echo "warning: redis-server could not be installed; the Redis Cluster and Sentinel tests will be skipped (apt-get install redis-server)" >&2
fi
if ! { command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; }; then
  echo "pgbouncer is missing; installing Debian's package"
  apt_install pgbouncer || true
  { command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; } || echo "warning: pgbouncer could not be installed; the PgBouncer test will be skipped (apt-get install pgbouncer)" >&2
fi

# Node.js 20+ for the JavaScript client's unit tests (`node --test` in clients/js/).
node_ok() { command -v node >/dev/null && node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)'; }
if ! command -v node >/dev/null; then
  echo "node is missing; installing Debian's nodejs"
  apt_install nodejs || true
fi
if ! node_ok; then
  echo "error: the JavaScript client's tests need Node.js 20 or later (found: $(node --version 2>/dev/null || echo none)); install it, e.g. from NodeSource" >&2
  exit 1
fi
exit 0
