# syntax=docker/dockerfile:1
# authsvc: gunicorn on :8000 as an unprivileged user, settings from the environment.
# Run it behind a TLS proxy: compose.yaml is the whole stack (Caddy, PostgreSQL, Redis, the
# workers), see docs/production.md. Linted by hadolint in `make test` (tests/ops/).

# --- build: the pinned dependencies in a virtualenv --------------------------------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# `[tool.setuptools] packages = []`: installing the project installs only its dependencies
# (all of them ship wheels, so no compiler is needed). pyproject's `readme` must be present.
COPY pyproject.toml README.md ./
RUN pip install .

# --- runtime ----------------------------------------------------------------------------
FROM python:3.11-slim

# No MALLOC_ARENA_MAX: with it the argon2 buffer shares a malloc arena with the request
# threads and a worker ends up holding two (18 MB more, docs/performance.md#memory). The
# bench's gunicorn gets this same environment (bench/config.py).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=authsvc.settings.production \
    AUTHSVC_KEYS_DIR=/var/lib/authsvc/keys \
    GUNICORN_WORKERS=2 \
    GUNICORN_THREADS=8

RUN groupadd --system --gid 10001 authsvc \
    && useradd --system --uid 10001 --gid authsvc --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin authsvc \
    && install -d -o authsvc -g authsvc -m 0700 /var/lib/authsvc/keys

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# The code stays owned by root: the service can read it, not change it.
COPY . .

# Static files (the admin's, Swagger UI's) are collected into /app/var/static; WhiteNoise
# serves them at /static/.
# Settings refuse to load without a secret outside debug, so this one step gets a
# throwaway key; it is not part of the image's environment.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret \
    python manage.py collectstatic --noinput --verbosity 0

# Signing keys (private PEM files) live here; the first start creates one when it is empty.
# Give it a persistent volume, or every restart signs with a new key and logs users out.
VOLUME ["/var/lib/authsvc/keys"]

# Numeric, so a runtime can tell it is not root without the image's /etc/passwd
# (Kubernetes' runAsNonRoot): uid and gid 10001 are the authsvc user above.
USER 10001:10001
EXPOSE 8000

# /healthz is exempt from the HTTPS redirect, but not from ALLOWED_HOSTS:
# DJANGO_ALLOWED_HOSTS must include 127.0.0.1 for this check to pass.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# exec: gunicorn becomes PID 1 and gets the container's SIGTERM for a graceful stop.
# Timeouts, graceful shutdown and worker recycling: gunicorn.conf.py. Extra flags can be
# passed in GUNICORN_CMD_ARGS.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "authsvc.wsgi:application"]
