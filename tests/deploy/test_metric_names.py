"""Every metric the alert rules and the dashboard query is one the workers export, with the
labels they group by; and the dashboard shows what on-call needs, under a stable uid.

A misspelt metric in PromQL is not an error: the query just returns nothing, and an alert
on it never fires. These tests are what catches that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from prometheus_client.metrics import MetricWrapperBase

from streams import metrics
from streams.metrics import REGISTRY

from .deploy_files import (
    METRIC_NAME,
    alert_rules,
    dashboard_exprs,
    dashboard_panels,
    load_dashboard,
)

# Sample names each family type puts on /metrics (prometheus_client's text exposition).
SUFFIXES_BY_TYPE = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
# Labels every scraped series has, added by Prometheus rather than the worker.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "app"}
GROUPING = re.compile(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)")
SELECTOR = re.compile(r"(tradewatch_[a-z_]+)\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def exported_sample_names() -> dict[str, str]:
    """Sample name -> family name, for every metric in streams.metrics.REGISTRY."""
    names: dict[str, str] = {}
    for family in REGISTRY.collect():
        for suffix in SUFFIXES_BY_TYPE.get(family.type, ("",)):
            names[family.name + suffix] = family.name
    return names


def label_names_by_family() -> dict[str, set[str]]:
    """Family name -> label names the worker sets (Info labels are chosen at run time: any)."""
    labels: dict[str, set[str]] = {}
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            family = next(iter(metric.describe())).name
            labels[family] = set(metric._labelnames)  # no public accessor in prometheus_client
    return labels


def queried_exprs() -> list[tuple[str, str]]:
    """(where, PromQL) for every expression in alerts.yml and the dashboard."""
    exprs = [(f"alert {rule['alert']}", rule["expr"]) for rule in alert_rules()]
    exprs += [("dashboard", expr) for expr in dashboard_exprs(load_dashboard())]
    return exprs


def queried_metric_names(expr: str) -> set[str]:
    return set(METRIC_NAME.findall(expr))


def test_the_queries_reference_tradewatch_metrics_at_all() -> None:
    """Guards the regex: if it matched nothing, the next test would pass vacuously."""
    names = set().union(*(queried_metric_names(expr) for _, expr in queried_exprs()))
    assert len(names) >= 10


@pytest.mark.parametrize(("where", "expr"), queried_exprs())
def test_every_queried_metric_is_exported(where: str, expr: str) -> None:
    exported = exported_sample_names()
    unknown = sorted(queried_metric_names(expr) - exported.keys())
    assert not unknown, (
        f"{where} queries {unknown}, which streams/metrics.py does not export "
        f"(exported: {sorted(exported)})"
    )


@pytest.mark.parametrize(("where", "expr"), queried_exprs())
def test_every_label_used_exists_on_the_metrics_queried(where: str, expr: str) -> None:
    exported = exported_sample_names()
    families = {exported[name] for name in queried_metric_names(expr) if name in exported}
    labels_by_family = label_names_by_family()
    info_families = {family.name for family in REGISTRY.collect() if family.type == "info"}
    if families & info_families:
        pytest.skip("an Info metric's labels are set at run time")
    known = set(TARGET_LABELS) | {"le"}
    for family in families:
        known |= labels_by_family[family]
    used = {label.strip() for group in GROUPING.findall(expr) for label in group.split(",") if label.strip()}
    for _, matchers in SELECTOR.findall(expr):
        used |= set(MATCHER_LABEL.findall(matchers))
    assert used <= known, f"{where} uses labels {sorted(used - known)} that {sorted(families)} do not have"


def test_histogram_quantile_is_only_applied_to_histogram_buckets() -> None:
    exported = exported_sample_names()
    histogram_families = {family.name for family in REGISTRY.collect() if family.type == "histogram"}
    for where, expr in queried_exprs():
        if "histogram_quantile" not in expr:
            continue
        for name in queried_metric_names(expr):
            assert name.endswith("_bucket") and exported.get(name) in histogram_families, (where, name)


# --- the dashboard ----------------------------------------------------------------------

QUANTILES = {"0.5", "0.9", "0.99"}
# What on-call must see: (metric, labels the panel must break it down by).
REQUIRED_BREAKDOWNS = {
    "throughput by topic and outcome": ("tradewatch_events_consumed_total", {"topic", "outcome"}),
    "consumer lag by topic/partition": ("tradewatch_consumer_lag_messages", {"topic", "partition"}),
    "actions by type and mode": ("tradewatch_actions_total", {"action", "mode"}),
    "DLQ/invalid rate by reason": ("tradewatch_invalid_events_total", {"reason"}),
    "circuit breaker state": ("tradewatch_circuit_breaker_open", set()),
    "open cases by state": ("tradewatch_open_cases", {"state"}),
    "signal hits by signal": ("tradewatch_signal_hits_total", {"signal"}),
    "policy version": ("tradewatch_policy_info", {"version"}),
}
REQUIRED_PERCENTILES = {
    "event-to-action latency p50/p90/p99": "tradewatch_event_to_action_latency_seconds_bucket",
    "per-event processing time percentiles": "tradewatch_event_processing_seconds_bucket",
}


def panel_exprs(panel: dict) -> list[str]:
    return [target["expr"] for target in panel.get("targets", []) if target.get("expr")]


def grouping_labels(expr: str) -> set[str]:
    return {label.strip() for group in GROUPING.findall(expr) for label in group.split(",")}


def quantiles_shown(exprs: Iterable[str]) -> set[str]:
    return {match for expr in exprs for match in re.findall(r"histogram_quantile\(\s*([0-9.]+)", expr)}


@pytest.mark.parametrize("need", sorted(REQUIRED_BREAKDOWNS))
def test_dashboard_breaks_down_what_on_call_needs(need: str) -> None:
    metric, labels = REQUIRED_BREAKDOWNS[need]
    for panel in dashboard_panels(load_dashboard()):
        for expr in panel_exprs(panel):
            if metric in queried_metric_names(expr) and labels <= grouping_labels(expr):
                return
    pytest.fail(f"no dashboard panel shows {need}: {metric} by {sorted(labels)}")


@pytest.mark.parametrize("need", sorted(REQUIRED_PERCENTILES))
def test_dashboard_shows_latency_percentiles(need: str) -> None:
    metric = REQUIRED_PERCENTILES[need]
    for panel in dashboard_panels(load_dashboard()):
        exprs = [expr for expr in panel_exprs(panel) if metric in queried_metric_names(expr)]
        if QUANTILES <= quantiles_shown(exprs):
            return
    pytest.fail(f"no dashboard panel shows {need} ({sorted(QUANTILES)} of {metric})")


def test_dashboard_has_a_stable_uid_and_unique_panel_ids() -> None:
    dashboard = load_dashboard()
    assert dashboard["uid"] == "tradewatch-overview"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_dashboard_queries_the_datasource_chosen_in_its_variable() -> None:
    """No hard-coded datasource uid: the dashboard works against any Prometheus."""
    dashboard = load_dashboard()
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    expected = {"type": "prometheus", "uid": "${datasource}"}
    for panel in dashboard_panels(dashboard):
        assert panel["datasource"] == expected, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"] == expected, panel["title"]


def test_dashboard_follows_the_dashboard_linter_rules_it_was_flagged_for() -> None:
    """Grafana's dashboard-linter is not installable here (its Go module is not served); these
    are its rules this dashboard broke: a `job` variable used by every query instead of a
    hard-coded job, an `instance` variable without a catch-all regex, not editable in place —
    and a `namespace` variable, so two deployments scraped by one Prometheus are told apart."""
    dashboard = load_dashboard()
    assert dashboard["editable"] is False
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["job"]["type"] == "query" and "job" in variables["job"]["query"]["query"]
    assert 'job=~"$job"' in variables["instance"]["query"]["query"]
    assert 'namespace=~"$namespace"' in variables["instance"]["query"]["query"]
    assert 'job=~"$job"' in variables["namespace"]["query"]["query"]
    assert "allValue" not in variables["instance"] and not variables["namespace"]["includeAll"]
    for panel in dashboard_panels(dashboard):
        for expr in panel_exprs(panel):
            assert 'job=~"$job"' in expr and 'instance=~"$instance"' in expr, (panel["title"], expr)
            assert 'namespace=~"$namespace"' in expr, (panel["title"], expr)
            assert 'job="' not in expr, (panel["title"], expr)


def test_every_exported_metric_is_on_the_dashboard() -> None:
    """A metric no panel shows is one on-call cannot see: add a panel with the metric."""
    shown = set().union(*(queried_metric_names(expr) for expr in dashboard_exprs(load_dashboard())))
    names = exported_sample_names()
    families = {names[name] for name in shown if name in names}
    missing = sorted(f.name for f in REGISTRY.collect() if f.name.startswith("tradewatch_") and f.name not in families)
    assert not missing, f"metrics on no dashboard panel: {missing}"
