"""A quiet account's deadline is judged once the watermark of a caught-up, idle pipeline passes it."""

from __future__ import annotations

import pytest

from tests.integration.harness import WorkerProcess, produce, read_actions, wait_for
from tests.integration.records import resale_records

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ACCOUNT = "gh_71c71c71c71c"
APP = "wx71c71c71c71c71c7"


def test_quiet_account_is_suspended_when_its_deadline_passes_on_the_wall_clock(kafka, tmp_path):
    worker = WorkerProcess(kafka.bootstrap, "tw-tick", tmp_path).start()
    try:
        worker.wait_ready()
        # a week ago: trades for 70 hours, then goes quiet before its deadline (now in the past)
        produce(kafka.bootstrap, resale_records(ACCOUNT, APP, count=140, every_s=1800))
        def suspensions() -> list[dict]:
            found = [a for a in read_actions(kafka.bootstrap) if a["action"] == "suspend"]
            return found if len(found) == 2 else []

        actions = wait_for(suspensions, 60, "the watermark to pass the deadline (account and mini program)")
        reminder = next(a for a in read_actions(kafka.bootstrap) if a["action"] == "qualification_reminder")
        assert {a["subject"]["kind"] for a in actions} == {"official_account", "mini_program"}
        assert all(a["event_time"] == reminder["deadline"] for a in actions)  # judged as of the deadline
    finally:
        worker.stop()
