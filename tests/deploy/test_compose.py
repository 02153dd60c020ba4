"""deploy/docker-compose.yml brings up Kafka (KRaft), topic creation, two workers,
Prometheus and Grafana wired to each other. No Docker engine runs here: the file is checked
by a compose CLI's own parser (`config` needs no engine) when one is installed, and
structurally otherwise."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .deploy_files import (
    COMPOSE,
    DEPLOY,
    GRAFANA_PROVISIONING,
    PROMETHEUS_COMPOSE_CONFIG,
    REPO_ROOT,
    load_yaml,
)

WORKERS = ("worker-1", "worker-2")
METRICS_PORT = 9464


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def compose_cli() -> list[str] | None:
    """`docker compose` (v2 plugin) if present, else the standalone `docker-compose`."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of the service's bind mounts (relative to deploy/)."""
    binds = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            binds[target] = (DEPLOY / source).resolve()
    return binds


def test_compose_cli_accepts_the_file() -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip("no compose CLI: neither the docker compose plugin nor docker-compose is installed")
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE), "config"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == set(services())
    for worker in WORKERS:
        assert Path(resolved["services"][worker]["build"]["context"]).resolve() == REPO_ROOT


def test_kafka_is_a_single_kraft_node_of_the_official_image() -> None:
    kafka = services()["kafka"]
    assert kafka["image"] == "apache/kafka:4.1.0"
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    # one broker: internal topics cannot have more replicas than that
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == 1
    assert "healthcheck" in kafka


def test_topics_are_created_once_before_the_workers_start() -> None:
    topics = services()["topics"]
    assert topics["command"][0] == "topics"
    assert "kafka://kafka:9092" in topics["command"]
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert topics.get("restart") == "no"
    for worker in WORKERS:
        assert services()[worker]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("worker", WORKERS)
def test_worker_joins_the_group_and_serves_metrics_on_all_interfaces(worker: str) -> None:
    service = services()[worker]
    assert service["command"] == ["worker"]
    assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    env = service["environment"]
    assert env["TRADEWATCH_BROKER"] == "kafka://kafka:9092"
    assert env["TRADEWATCH_APP_ID"] == "tradewatch"
    assert env["TRADEWATCH_METRICS_ADDR"] == f"0.0.0.0:{METRICS_PORT}"
    assert service.get("read_only") is True
    assert env["TRADEWATCH_DATA_DIR"] in {volume.split(":")[1] for volume in service["volumes"]}


def test_build_context_is_the_repository_root() -> None:
    for worker in WORKERS:
        build = services()[worker]["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert context == REPO_ROOT
        assert (context / build["dockerfile"]).is_file()


def test_prometheus_scrapes_both_workers_and_loads_the_rules() -> None:
    prometheus = services()["prometheus"]
    binds = mounts(prometheus)
    assert binds["/etc/prometheus"] == PROMETHEUS_COMPOSE_CONFIG.parent
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    (job,) = [job for job in load_yaml(PROMETHEUS_COMPOSE_CONFIG)["scrape_configs"] if job["job_name"] == "tradewatch"]
    targets = {target for static in job["static_configs"] for target in static["targets"]}
    assert targets == {f"{worker}:{METRICS_PORT}" for worker in WORKERS}


def test_grafana_gets_the_datasource_and_dashboard_provisioned() -> None:
    grafana = services()["grafana"]
    binds = mounts(grafana)
    assert binds["/etc/grafana/provisioning"] == GRAFANA_PROVISIONING
    provider = load_yaml(GRAFANA_PROVISIONING / "dashboards" / "tradewatch.yml")["providers"][0]
    dashboards_dir = binds[provider["options"]["path"]]
    assert (dashboards_dir / "tradewatch.json").is_file()
    (datasource,) = load_yaml(GRAFANA_PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"


def test_published_ports_listen_on_loopback_only() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_every_image_is_pinned() -> None:
    for name, service in services().items():
        image = service.get("image", "")
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image!r}"
