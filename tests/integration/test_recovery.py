"""A replacement worker continues an account's case from the changelog."""

from __future__ import annotations

import pytest

from streams.core.timefmt import parse_time
from tests.integration.harness import WorkerProcess, produce, read_actions, wait_for
from tests.integration.records import BASE, LIVE_REVIEWER_ENV, live_traffic_on_every_partition, resale_records

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ACCOUNT = "gh_0a0b0c0d0e0f"
APP = "wx0a0b0c0d0e0f0a0b"
HISTORY = (("miniprogram.events.v1", APP),)


def account_actions(bootstrap: str, action: str) -> list[dict]:
    return [a for a in read_actions(bootstrap) if a["action"] == action and a["subject"]["id"] == ACCOUNT]


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_fresh_worker_restores_state_and_suspends_once(kafka, tmp_path, store):
    # the history arrives in two parts, minutes apart: with current traffic on every other
    # partition and no partition presumed quiet, the watermark stops where the history was read
    env = {"TRADEWATCH_STORE": store, "TRADEWATCH_IDLE_PARTITION_SECONDS": "600", **LIVE_REVIEWER_ENV}
    first = WorkerProcess(kafka.bootstrap, "tw-recovery", tmp_path / "first", extra_env=env).start()
    try:
        first.wait_ready()
        produce(kafka.bootstrap, resale_records(ACCOUNT, APP, count=30) + live_traffic_on_every_partition(besides=HISTORY))
        reminders = wait_for(lambda: account_actions(kafka.bootstrap, "qualification_reminder"), 60, "the reminder")
    finally:
        first.stop()
    deadline = parse_time(reminders[0]["deadline"])

    second = WorkerProcess(kafka.bootstrap, "tw-recovery", tmp_path / "second", extra_env=env).start()
    try:
        second.wait_ready()
        # still trading through the deadline, then one event after it
        start = deadline - 20 * 3600 - BASE
        produce(kafka.bootstrap, resale_records(ACCOUNT, APP, count=23, start_offset_s=start, every_s=3600)
                + live_traffic_on_every_partition(besides=HISTORY))
        suspensions = wait_for(lambda: account_actions(kafka.bootstrap, "suspend"), 60, "the suspension")
        wait_for(lambda: second.metric("tradewatch_events_consumed_total", topic="miniprogram.events.v1") >= 23,
                 60, "all events consumed")
        assert len(suspensions) == 1
        assert len(account_actions(kafka.bootstrap, "qualification_reminder")) == 1, "a second reminder: state was lost"
        assert suspensions[0]["case_id"] == reminders[0]["case_id"]
        assert suspensions[0]["event_time"] == reminders[0]["deadline"]
    finally:
        second.stop()
