"""Live workers decide exactly what ``tradewatch replay`` decides, alone or as a group."""

from __future__ import annotations

import time
from collections import defaultdict

import orjson
import pytest

from streams.core.policy import load_policy
from streams.offline.replay import replay
from streams.offline.simulate import simulate
from tests.integration.harness import WorkerProcess, produce, read_actions, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def simulated_recording() -> list[dict]:
    return simulate(seed=3, accounts=20, days=10, intensity=0.3).records


def comparable(action: dict) -> tuple:
    return (
        action["action_id"],
        action["action"],
        action["subject"]["kind"],
        action["subject"]["id"],
        tuple(sorted(reason["code"] for reason in action["reasons"])),
        action.get("deadline"),
    )


def replayed(records: list[dict]) -> set[tuple]:
    lines = [(f"rec:{i}", orjson.dumps(record)) for i, record in enumerate(records)]
    result = replay(lines, load_policy(), until=time.time())  # a quiet pipeline's watermark: the wall clock
    assert not result.invalid
    return {comparable(action) for action in result.actions}


def live_actions_settled(bootstrap: str, expected_count: int) -> list[dict]:
    return wait_for(
        lambda: (actions := read_actions(bootstrap)) and len({a["action_id"] for a in actions}) >= expected_count and actions,
        60,
        f"{expected_count} distinct actions",
    )


def test_live_worker_matches_replay(kafka, tmp_path):
    records = simulated_recording()
    expected = replayed(records)
    assert {a[1] for a in expected} >= {"qualification_reminder", "suspend", "case_closed"}, "recording too tame"
    worker = WorkerProcess(kafka.bootstrap, "tw-parity", tmp_path).start()
    try:
        worker.wait_ready()
        produce(kafka.bootstrap, records)  # in recording order; any order would do (test_event_time.py)
        live = live_actions_settled(kafka.bootstrap, len(expected))
        assert {comparable(a) for a in live} == expected
        assert worker.metric("tradewatch_actions_total") == len(live)
    finally:
        worker.stop()


def test_two_workers_share_partitions_and_match_replay(kafka, tmp_path):
    records = simulated_recording()
    expected = replayed(records)
    first = WorkerProcess(kafka.bootstrap, "tw-group", tmp_path).start()
    second = WorkerProcess(kafka.bootstrap, "tw-group", tmp_path).start()
    workers = [first, second]
    try:
        for worker in workers:
            worker.wait_ready()
        # both own part of the subject partitions once the group has settled
        wait_for(lambda: all(w.metric("tradewatch_worker_ready") == 1 for w in workers), 60, "group to settle")
        produce(kafka.bootstrap, records)
        live = live_actions_settled(kafka.bootstrap, len(expected))
        assert {comparable(a) for a in live} == expected
        contents = defaultdict(set)
        for action in live:
            contents[action["action_id"]].add(orjson.dumps({k: v for k, v in action.items() if k != "decided_at"}))
        assert all(len(versions) == 1 for versions in contents.values()), "an action_id with two contents"
        per_worker = [w.metric("tradewatch_events_consumed_total") for w in workers]
        assert all(count > 0 for count in per_worker), f"one worker did all the work: {per_worker}"
    finally:
        for worker in workers:
            worker.stop()
