"""A real Prometheus (Debian's package) scrapes a real worker and sees what was produced."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request

import pytest

from tests.integration.harness import WorkerProcess, free_port, produce, wait_for
from tests.integration.records import post_record, qualification_record

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("Debian's 'prometheus' package is required (scripts/bootstrap --test installs it)")
    return binary


def query(port: int, expression: str) -> dict[tuple, float]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body = json.load(response)
    except OSError:
        return {}
    return {
        tuple(sorted(sample["metric"].items())): float(sample["value"][1]) for sample in body["data"]["result"]
    }


def test_prometheus_scrapes_the_worker_counters(kafka, tmp_path):
    worker = WorkerProcess(kafka.bootstrap, "tw-prom", tmp_path).start()
    prom_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: tradewatch\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{worker.port}']}}]\n"
    )
    prometheus = subprocess.Popen(
        [prometheus_binary(), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"),
    )
    try:
        worker.wait_ready()
        valid_posts = [post_record(f"gh_{i:012x}", "今天天气很好，欢迎关注我们的公众号。", at_offset_s=i) for i in range(12)]
        qualifications = [qualification_record(f"gh_{i:012x}", "submitted", at_offset_s=i) for i in range(3)]
        invalid = [{"topic": "posts.v1", "key": "gh_bad", "value": b"not json at all"} for _ in range(5)]
        produce(kafka.bootstrap, valid_posts + qualifications + invalid)

        def scraped() -> dict[tuple, float]:
            result = query(prom_port, "sum by (topic, outcome) (tradewatch_events_consumed_total)")
            return result if sum(result.values()) >= 20 else {}

        counts = wait_for(scraped, 90, "Prometheus to scrape 20 consumed events")
        assert counts == {
            (("outcome", "valid"), ("topic", "posts.v1")): 12.0,
            (("outcome", "valid"), ("topic", "qualifications.v1")): 3.0,
            (("outcome", "invalid"), ("topic", "posts.v1")): 5.0,
        }
        invalid_counts = query(prom_port, "sum by (reason) (tradewatch_invalid_events_total)")
        assert invalid_counts == {(("reason", "not_json"),): 5.0}
        up = query(prom_port, 'up{job="tradewatch"}')
        assert list(up.values()) == [1.0]
        policy = query(prom_port, "tradewatch_policy_info")
        assert len(policy) == 1 and "version" in dict(next(iter(policy)))
        # the standard collectors: memory and CPU of the process, the interpreter's version
        assert query(prom_port, 'process_resident_memory_bytes{job="tradewatch"}')
        assert query(prom_port, 'python_info{job="tradewatch"}')
        # both consumer groups of the worker were assigned partitions (once, unless the fresh
        # broker's coordinator made a group join twice)
        rebalances = query(prom_port, 'sum by (group) (tradewatch_rebalances_total{job="tradewatch"})')
        assert set(rebalances) == {(("group", "decide"),), (("group", "intake"),)} and min(rebalances.values()) >= 1
        # both groups commit (timed), and lag is measured against the offsets the broker holds:
        # everything produced was read and committed, so every owned partition shows 0
        def committed() -> dict[tuple, float]:
            commits = query(prom_port, 'sum by (group) (tradewatch_commit_seconds_count{job="tradewatch"})')
            return commits if len(commits) == 2 and min(commits.values()) >= 1 else {}

        commits = wait_for(committed, 60, "a timed commit of each consumer group")
        assert set(commits) == {(("group", "decide"),), (("group", "intake"),)}
        assert query(prom_port, 'sum(tradewatch_commit_failures_total{job="tradewatch"})') == {(): 0.0}

        def caught_up() -> dict[str, float]:
            lag = query(prom_port, 'sum by (topic) (tradewatch_consumer_lag_messages{job="tradewatch"})')
            by_topic = {dict(labels)["topic"]: value for labels, value in lag.items()}
            return by_topic if {"posts.v1", "tw-prom-subject-inputs"} <= set(by_topic) and not by_topic["posts.v1"] else {}

        # the inputs were all read and committed; the internal topic gets watermark records
        # all the time, so its lag is what arrived since the last commit, which keeps moving
        wait_for(caught_up, 60, "input lag 0 from the broker's committed offsets, and the internal topic's")
        stalled = query(prom_port, 'max(tradewatch_commit_stalled_seconds{job="tradewatch"})')
        assert list(stalled.values())[0] < 10
        # and the exposition itself passes Prometheus's own linter
        status, body = worker.get("/metrics")
        assert status == 200
        promtool = shutil.which("promtool")
        assert promtool, "Debian's 'prometheus' package is required (scripts/bootstrap --test installs it)"
        checked = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
        assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    finally:
        prometheus.terminate()
        prometheus.wait(30)
        worker.stop()
