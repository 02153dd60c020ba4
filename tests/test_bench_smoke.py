"""The benchmark runs end to end on a real local Kafka and writes every number it promises.

Not a timed test: the values only have to be sane (positive rates, ordered quantiles),
never fast enough — speed is judged by reading bench/results, not by CI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
RATES = ("aiokafka_raw_eps", "faust_passthrough_eps", "tradewatch_eps", "replay_eps", "offered_eps")
REQUIRED = (
    "messages", "partitions", *RATES, "tradewatch_vs_faust", "tradewatch_vs_raw", "replay_vs_raw",
    "latency_p50_s", "latency_p99_s", "bytes_per_account", "peak_rss_bytes", "machine", "timestamp",
    "tradewatch_capacity_eps", "faust_capacity_eps", "capacity_vs_faust", "ramp", "allowed_lateness_s", "late_events",
)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "latest.json"
    command = [
        sys.executable, "-m", "bench", "--quick", "--messages", "3000", "--partitions", "2",
        # probe share 0.5: in 4 s enough probe accounts reach the sale that triggers a reminder
        "--latency-seconds", "4", "--warmup-seconds", "2", "--quiet-accounts", "2000", "--probe-share", "0.5",
        "--ramp-steps", "2",
        "--out", str(out),
    ]
    finished = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=420)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(out.read_text())


def test_every_promised_key_is_present(results):
    missing = [key for key in REQUIRED if key not in results]
    assert not missing


def test_sizes_are_the_ones_asked_for(results):
    assert (results["messages"], results["partitions"]) == (3000, 2)


def test_every_contender_drained_the_whole_backlog(results):
    assert all(results["drains_completed"].values()), results["drains_completed"]
    assert results["tradewatch_events_consumed"] == results["messages"]


def test_rates_are_positive_and_ratios_follow_from_them(results):
    for key in RATES:
        assert results[key] > 0, key
    # ratios are reported to 3 decimals: they follow from the (rounded) rates to that precision
    assert results["tradewatch_vs_faust"] == pytest.approx(results["tradewatch_eps"] / results["faust_passthrough_eps"], abs=6e-4)
    assert results["tradewatch_vs_raw"] == pytest.approx(results["tradewatch_eps"] / results["aiokafka_raw_eps"], abs=6e-4)
    assert results["replay_vs_raw"] == pytest.approx(results["replay_eps"] / results["aiokafka_raw_eps"], abs=6e-4)


def test_latency_was_measured_on_matched_actions(results):
    # after the warm-up's own actions: every action of the measured phase arrived in time
    assert results["latency_warmup_seconds"] == 2 and results["latency_complete"]
    assert results["latency_samples"] > 0
    assert 0 < results["latency_p50_s"] <= results["latency_p99_s"]


def test_both_contenders_climbed_the_same_ladder_and_capacity_is_a_sustained_step(results):
    ramp = results["ramp"]
    faust = [step["offered_eps"] for step in ramp["faust_passthrough"]]
    tradewatch = [step["offered_eps"] for step in ramp["tradewatch"]]
    assert faust[0] == tradewatch[0] == ramp["start_eps"]
    assert len(faust) <= 3 and len(tradewatch) <= 3  # two rising steps, one narrowing
    for name, key in (("faust_passthrough", "faust_capacity_eps"), ("tradewatch", "tradewatch_capacity_eps")):
        sustained = [step["offered_eps"] for step in ramp[name] if step["sustained"]]
        assert results[key] == (max(sustained) if sustained else 0.0)
        for step in ramp[name]:
            assert step["sustained"] == (step["why_not"] is None)
            assert not step["sustained"] or step["p99_s"] <= 0.25


def test_memory_numbers_are_plausible(results):
    assert results["peak_rss_bytes"] > 10 * 2**20  # a Python + Faust process is never below 10 MiB
    assert results["rss_after_quiet_bytes"] <= results["memory_worker_peak_rss_bytes"]
    # with only a few thousand accounts, RSS growth can hide in memory freed by the phase before:
    # the per-account figure is only meaningful at the bench's own sizes, so no sign is asserted
    assert isinstance(results["bytes_per_account"], float)


def test_machine_is_described(results):
    machine = results["machine"]
    assert machine["nproc"] >= 1 and machine["python"] and "cpu_model" in machine
