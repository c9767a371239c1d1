"""The least possible worker: `python -m bench.least_worker` prints its memory as JSON.

A process that loads what any service on authsvc's design card loads (Django with the admin,
DRF, simplejwt, django-otp, social-auth, django-redis, psycopg, django-ratelimit, argon2 and
gunicorn's threaded worker), routes a DRF view, the admin and simplejwt's token views, opens
a PostgreSQL and a Redis connection, then verifies one password with argon2id at the
service's cost on a thread of its own, as the service's hashing pool does. None of
authsvc's own code is loaded. Its peak RSS puts the worker RSS target in scale: what this
process needs, any worker on the stack needs.
"""

import json
import os
import sys
import threading
import types
from pathlib import Path

from argon2 import PasswordHasher


def rss_mb() -> dict:
    lines = Path("/proc/self/status").read_text().splitlines()
    status = dict(line.split(":", 1) for line in lines if ":" in line)
    return {
        "rss_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1),
        "peak_rss_mb": round(int(status["VmHWM"].split()[0]) / 1024, 1),
    }


def main() -> int:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="least-worker-" + "x" * 40,
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "rest_framework",
            "rest_framework_simplejwt",
            "django_otp",
            "django_otp.plugins.otp_totp",
            "django_otp.plugins.otp_static",
            "social_django",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django_otp.middleware.OTPMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        ROOT_URLCONF="bench_least_worker_urls",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={"default": _database(os.environ["DATABASE_URL"])},
        CACHES={
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": os.environ["REDIS_URL"],
            }
        },
        STATIC_URL="/static/",
        USE_TZ=True,
    )
    django.setup()
    import django_ratelimit.decorators  # noqa: F401
    import gunicorn.workers.gthread  # noqa: F401
    from django.contrib import admin
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.urls import get_resolver, path
    from django_redis import get_redis_connection
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

    class Hello(APIView):
        def get(self, request):
            return Response({"hello": "world"})

    urls = types.ModuleType("bench_least_worker_urls")
    urls.urlpatterns = [
        path("admin/", admin.site.urls),
        path("hello", Hello.as_view()),
        path("token", TokenObtainPairView.as_view()),
        path("token/refresh", TokenRefreshView.as_view()),
    ]
    sys.modules[urls.__name__] = urls
    WSGIHandler()
    get_resolver()._populate()
    connection.ensure_connection()
    get_redis_connection("default").ping()
    loaded = rss_mb()

    hasher = PasswordHasher(
        time_cost=int(os.environ.get("AUTHSVC_ARGON2_TIME_COST", "2")),
        memory_cost=int(os.environ.get("AUTHSVC_ARGON2_MEMORY_KIB", "19456")),
        parallelism=int(os.environ.get("AUTHSVC_ARGON2_PARALLELISM", "1")),
    )
    thread = threading.Thread(target=lambda: hasher.verify(hasher.hash("x"), "x"))
    thread.start()
    thread.join()
    print(json.dumps({"loaded": loaded, "after_hash": rss_mb()}))
    return 0


def _database(url: str) -> dict:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "",
        "PORT": parts.port or "",
    }


if __name__ == "__main__":
    sys.exit(main())
