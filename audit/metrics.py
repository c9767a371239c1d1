"""What `GET /metrics` computes at scrape time rather than counts: the events outbox's lag,
one indexed query per scrape and never one per request."""

import logging

from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily

from audit.relay import outbox_lag_seconds

logger = logging.getLogger(__name__)


class OutboxLagCollector:
    def collect(self):
        try:
            lag = outbox_lag_seconds()
        except DatabaseError as error:
            # Unknown is not 0: leave the series out (an alert on its absence sees it).
            logger.warning("metrics: outbox lag unavailable: %s", error)
            return
        yield GaugeMetricFamily(
            "authsvc_events_outbox_lag_seconds",
            "Age of the oldest outbox event not yet published to the stream; 0 when none waits.",
            value=lag,
        )
