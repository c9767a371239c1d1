"""Reading `GET /metrics` the way Prometheus does: prometheus_client's own parser."""

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition: (name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels) -> float:
    """One sample's value, 0 when the series does not exist yet (a counter never moved)."""
    return scraped.get((name, frozenset(labels.items())), 0.0)


def total(scraped: dict, name: str, **labels) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in scraped.items() if n == name and wanted <= ls)
