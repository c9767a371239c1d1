"""docs/grafana/authsvc.json: a Grafana dashboard that imports (valid JSON, a Prometheus data
source variable) and queries only series GET /metrics serves."""

import json
import re
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "authsvc.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def queries() -> list[str]:
    return [
        target["expr"]
        for panel in dashboard()["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def test_it_asks_for_a_prometheus_data_source_and_every_panel_uses_it():
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}

    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]


@pytest.mark.django_db
def test_every_series_it_queries_is_served():
    text = Client(HTTP_HOST="localhost").get("/metrics").content.decode()
    served = {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in SUFFIXES.get(family.type, ("",))
    }

    queried = {name for expr in queries() for name in re.findall(r"\bauthsvc_\w+", expr)}

    assert queried - served == set()
    # What the dashboard is for: latency quantiles, logins, refresh and reuse, revocations,
    # rate limits and the outbox lag.
    assert {
        "authsvc_http_request_duration_seconds_bucket",
        "authsvc_logins_total",
        "authsvc_refreshes_total",
        "authsvc_refresh_token_reuse_detections_total",
        "authsvc_session_revocations_total",
        "authsvc_rate_limited_total",
        "authsvc_events_outbox_lag_seconds",
    } <= queried
    assert {"0.5", "0.95", "0.99"} <= {
        q for expr in queries() for q in re.findall(r"histogram_quantile\(([\d.]+)", expr)
    }


def test_the_check_sees_an_unknown_series():
    assert re.findall(r"\bauthsvc_\w+", "sum(rate(authsvc_nope_total[5m]))") == [
        "authsvc_nope_total"
    ]
