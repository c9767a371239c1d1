"""Settings, split by concern and read from the environment.

`production` composes every concern and is what manage.py, WSGI and ASGI load; the
environment (DJANGO_DEBUG and friends) decides how it behaves. `test` layers test defaults.
"""
