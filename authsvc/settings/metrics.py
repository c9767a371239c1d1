"""`GET /metrics` (authsvc/metrics.py): who may scrape it, and where gunicorn's workers keep
their counters so that one scrape sees them all."""

import ipaddress

from django.core.exceptions import ImproperlyConfigured

from .env import env_list, env_str


def _networks(name: str, values: list[str]) -> tuple:
    networks = []
    for value in values:
        try:
            # strict: "10.0.0.5/8" is refused rather than silently widened to 10.0.0.0/8.
            networks.append(ipaddress.ip_network(value, strict=True))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must be IP addresses or networks (CIDR, no host bits), not {value!r}"
            ) from None
    return tuple(networks)


# Client IPs (as authsvc.http.client_ip finds them, so AUTHSVC_TRUSTED_PROXY_COUNT applies)
# allowed to read /metrics; anyone else gets 403. Loopback only by default.
AUTHSVC_METRICS_ALLOWED_IPS = _networks(
    "AUTHSVC_METRICS_ALLOWED_IPS",
    env_list("AUTHSVC_METRICS_ALLOWED_IPS", ["127.0.0.1/32", "::1/128"]),
)

# prometheus_client's multiprocess mode: a directory shared by the processes of one instance
# (gunicorn's workers), each writing its counters there. prometheus_client reads the same
# variable itself; gunicorn.conf.py creates a private one when it is unset.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
