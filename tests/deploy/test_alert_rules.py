"""The alert rules load in real Prometheus tooling, pass their unit tests, and tell the
on-call engineer what to do."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from .deploy_files import (
    ALERTS,
    ALERTS_TEST,
    PROMETHEUS_COMPOSE_CONFIG,
    PROMETHEUS_K8S_CONFIG,
    REPO_ROOT,
    alert_rules,
    load_yaml,
    require_tool,
)

REQUIRED_ALERTS = {
    "TradewatchWorkerDown",
    "TradewatchConsumerLagGrowing",
    "TradewatchNoInput",
    "TradewatchDeadLetterRateHigh",
    "TradewatchSuspensionsSpiking",
    "TradewatchCircuitBreakerOpen",
    "TradewatchEventToActionLatencyHigh",
    "TradewatchWorkerNotReady",
}
SEVERITIES = {"critical", "warning", "info"}


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_tool("promtool", "install Debian's `prometheus` package (apt-get install -y prometheus)")


def run_promtool(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_alert_rules_pass_promtool_check(promtool: str) -> None:
    result = run_promtool(promtool, "check", "rules", str(ALERTS.relative_to(REPO_ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_prometheus_config_passes_promtool_check(promtool: str) -> None:
    result = run_promtool(promtool, "check", "config", str(PROMETHEUS_COMPOSE_CONFIG.relative_to(REPO_ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_prometheus_config_passes_promtool_check(promtool: str, tmp_path: Path) -> None:
    result = run_promtool(promtool, "check", "config", str(PROMETHEUS_K8S_CONFIG.relative_to(REPO_ROOT)))
    output = result.stdout + result.stderr
    if "field kubernetes_sd_configs not found" in output:
        # Debian's promtool is built without Kubernetes discovery: check everything else
        # (relabelling, rule files) with the discovery swapped for a static target.
        config = load_yaml(PROMETHEUS_K8S_CONFIG)
        config["rule_files"] = [str(ALERTS)]
        for job in config["scrape_configs"]:
            if job.pop("kubernetes_sd_configs", None) is not None:
                job["static_configs"] = [{"targets": ["worker.invalid:9464"]}]
        substitute = tmp_path / "prometheus-kubernetes.yml"
        substitute.write_text(yaml.safe_dump(config), encoding="utf-8")
        result = run_promtool(promtool, "check", "config", str(substitute))
        output = result.stdout + result.stderr
    assert result.returncode == 0, output


def test_alert_unit_tests_pass(promtool: str) -> None:
    result = run_promtool(promtool, "test", "rules", str(ALERTS_TEST.relative_to(REPO_ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_on_call_relies_on_exist() -> None:
    missing = REQUIRED_ALERTS - {rule["alert"] for rule in alert_rules()}
    assert not missing, f"alerts.yml lacks {sorted(missing)}"


def test_alert_names_are_unique() -> None:
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_says_what_happened_and_what_to_do(rule: dict) -> None:
    annotations = rule.get("annotations", {})
    for key in ("summary", "description", "runbook"):
        assert str(annotations.get(key, "")).strip(), f"{rule['alert']} has no {key} annotation"
    assert rule.get("labels", {}).get("severity") in SEVERITIES, f"{rule['alert']} needs a severity label"


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    unit_tests = load_yaml(ALERTS_TEST)
    assert unit_tests["rule_files"] == [ALERTS.name]
    firing: set[str] = set()
    quiet: set[str] = set()
    for group in unit_tests["tests"]:
        for case in group.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert not names - firing, f"no test where these fire: {sorted(names - firing)}"
    assert not names - quiet, f"no test where these stay quiet: {sorted(names - quiet)}"
    assert not (firing | quiet) - names, f"tests for unknown alerts: {sorted((firing | quiet) - names)}"


def test_prometheus_configs_load_the_alert_rules() -> None:
    for config in (PROMETHEUS_COMPOSE_CONFIG, PROMETHEUS_K8S_CONFIG):
        assert ALERTS.name in load_yaml(config)["rule_files"], config.name


def test_alerts_select_the_job_that_the_configs_scrape() -> None:
    """Rules filter on job="tradewatch": a renamed scrape job would silence them all."""
    for config in (PROMETHEUS_COMPOSE_CONFIG, PROMETHEUS_K8S_CONFIG):
        jobs = {job["job_name"] for job in load_yaml(config)["scrape_configs"]}
        assert "tradewatch" in jobs, config.name
    for rule in alert_rules():
        assert 'job="tradewatch"' in rule["expr"], f"{rule['alert']} does not select job=\"tradewatch\""


def test_the_operations_guide_alert_table_lists_exactly_the_alert_rules() -> None:
    guide = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    in_table = set(re.findall(r"^\| (Tradewatch\w+) \|", guide, flags=re.M))
    assert in_table == {rule["alert"] for rule in alert_rules()}


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_links_its_section_of_the_runbook(rule: dict) -> None:
    from tests.deploy.runbook import anchor, runbook_url

    assert rule["annotations"].get("runbook_url") == f"{runbook_url()}#{anchor(rule['alert'])}"


def test_the_runbook_is_rendered_from_the_alert_rules() -> None:
    from tests.deploy.runbook import RUNBOOK, anchor, render

    text = RUNBOOK.read_text(encoding="utf-8")
    assert text == render(), "docs/runbook.md is stale: python -m tests.deploy.runbook"
    headings = {anchor(h) for h in re.findall(r"^## (\S+)$", text, re.M)}
    assert headings == {anchor(rule["alert"]) for rule in alert_rules()}
