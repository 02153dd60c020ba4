"""Paths and loaders for the operations assets under deploy/, shared by the deploy tests."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
PROMETHEUS_COMPOSE_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
PROMETHEUS_K8S_CONFIG = PROMETHEUS_DIR / "prometheus-kubernetes.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "tradewatch.json"
GRAFANA_PROVISIONING = DEPLOY / "grafana" / "provisioning"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
K8S_DIR = DEPLOY / "k8s"

# Contract (docs/design.md "Topics"): every topic the app id "tradewatch" uses.
INPUT_TOPICS = ("posts.v1", "miniprogram.events.v1", "qualifications.v1", "enforcement.appeals.v1",
                "tradewatch.control.v1")
OUTPUT_TOPICS = ("enforcement.actions.v1", "tradewatch.shadow.v1", "tradewatch.dlq.v1", "tradewatch.held.v1",
                 "tradewatch.breaker.v1", "tradewatch.audit.v1")
REKEYED_TOPIC = "tradewatch-subject-inputs"
CHANGELOG_TOPIC = "tradewatch-subject-state-changelog"
LEADER_TOPIC = "tradewatch-__assignor-__leader"
OWNERS_TOPIC = "tradewatch-miniprogram-owners"
ALL_TOPICS = INPUT_TOPICS + OUTPUT_TOPICS + (REKEYED_TOPIC, CHANGELOG_TOPIC, LEADER_TOPIC, OWNERS_TOPIC)
COMPACTED_TOPICS = ("qualifications.v1", CHANGELOG_TOPIC, OWNERS_TOPIC, "tradewatch.breaker.v1", "tradewatch.control.v1")
APP_ID = "tradewatch"

METRIC_NAME = re.compile(r"(?<![A-Za-z0-9_:])tradewatch_[a-z_]+")


def load_yaml(path: Path) -> Any:
    """One YAML document (anchors and merge keys resolved, as compose and kubectl do)."""
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_yaml_documents(text: str) -> list[dict[str, Any]]:
    """All non-empty documents of a multi-document YAML stream."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def load_dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule in alerts.yml (recording rules are skipped)."""
    groups = load_yaml(ALERTS)["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """All panels that show data, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression the dashboard runs: panel targets and variable queries."""
    exprs = [target["expr"] for panel in dashboard_panels(dashboard)
             for target in panel.get("targets", []) if target.get("expr")]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and query:
            exprs.append(query)
    return exprs


def require_tool(name: str, install_hint: str) -> str:
    """The tool's path; fails (not skips) the test when CI forgot to install it."""
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} is not installed: {install_hint}")
    return path
