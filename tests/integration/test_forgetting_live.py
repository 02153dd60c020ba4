"""A live worker forgets quiet accounts once the watermark has passed their window: their
states leave memory and the changelog gets a tombstone for each (so a restarted worker does not
restore them either)."""

from __future__ import annotations

import time

import pytest

from tests.integration.harness import WorkerProcess, produce, read_all, wait_for
from tests.integration.records import BASE, LIVE_REVIEWER_ENV, live_traffic_on_every_partition, post_record

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

APP_ID = "tw-forget"
QUIET = [f"gh_quiet{n:07d}" for n in range(200)]


def last_changelog_values(bootstrap: str) -> dict[str, bytes | None]:
    last: dict[str, bytes | None] = {}
    for message in read_all(bootstrap, f"{APP_ID}-subject-state-changelog"):
        last[message.key.decode()] = message.value
    return last


def test_quiet_accounts_are_forgotten_with_a_tombstone_once_their_window_has_passed(kafka, tmp_path):
    env = {**LIVE_REVIEWER_ENV, "TRADEWATCH_IDLE_PARTITION_SECONDS": "600"}  # only the traffic moves the watermark
    worker = WorkerProcess(kafka.bootstrap, APP_ID, tmp_path, extra_env=env).start()
    try:
        worker.wait_ready()
        eight_days_ago = time.time() - 8 * 86400
        # one greeting each, eight days ago; then every input read up to an hour later: the
        # greetings are decided and their states stored, still inside their seven-day window
        produce(kafka.bootstrap, [post_record(account, "早上好，欢迎关注。", at_offset_s=eight_days_ago - BASE + n)
                                  for n, account in enumerate(QUIET)])
        produce(kafka.bootstrap, live_traffic_on_every_partition(now=eight_days_ago + 3600))
        wait_for(lambda: all(last_changelog_values(kafka.bootstrap).get(a) for a in QUIET), 90, "the states stored")
        assert worker.metric("tradewatch_forgotten_states_total") == 0
        # the history is over: the watermark follows the wall clock, a week past every greeting
        produce(kafka.bootstrap, live_traffic_on_every_partition())
        wait_for(lambda: worker.metric("tradewatch_forgotten_states_total") >= len(QUIET), 90,
                 "the quiet accounts forgotten")
        wait_for(lambda: all(last_changelog_values(kafka.bootstrap).get(a, b"") is None for a in QUIET), 60,
                 "a tombstone for every quiet account")
        assert worker.metric("tradewatch_forgotten_states_total") == len(QUIET)  # and nothing else
    finally:
        worker.stop()
