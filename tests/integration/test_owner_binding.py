"""Live: a mini program stays bound to its first owner across worker restarts, and forged events
claiming another owner go to the dead-letter topic instead of suspending it."""

from __future__ import annotations

import pytest

from streams.topics import owners_topic
from tests.integration.harness import WorkerProcess, produce, read_actions, read_all, wait_for
from tests.integration.records import resale_records
from tests.offline.test_replay_owners import first_hand_sale

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

VICTIM, INTRUDER = "gh_0wner0000002", "gh_1ntruder0002"
APP = "wxv1ct1mapp00002"
APP_ID = "tw-owners"


def test_forged_owner_cannot_suspend_another_accounts_mini_program_even_after_a_restart(kafka, tmp_path):
    first = WorkerProcess(kafka.bootstrap, APP_ID, tmp_path / "first").start()
    try:
        first.wait_ready()
        produce(kafka.bootstrap, [first_hand_sale(VICTIM, APP)])
        wait_for(lambda: first.metric("tradewatch_events_consumed_total") >= 1, 60, "the genuine sale consumed")
    finally:
        first.stop()
    bindings = read_all(kafka.bootstrap, owners_topic(APP_ID))
    assert [(b.key, b"gh_0wner0000002" in b.value) for b in bindings] == [(APP.encode(), True)]

    # a new worker: the binding now comes from the bindings topic, not from memory
    forged = resale_records(INTRUDER, APP, count=170, every_s=1800)
    second = WorkerProcess(kafka.bootstrap, APP_ID, tmp_path / "second").start()
    try:
        second.wait_ready()
        produce(kafka.bootstrap, forged)
        dead = wait_for(lambda: len(found := read_all(kafka.bootstrap, "tradewatch.dlq.v1")) >= len(forged) and found,
                        90, "every forged event dead-lettered")
        assert len(dead) == len(forged)
        assert {dict(letter.headers)["tw-error-class"] for letter in dead} == {b"owner_mismatch"}
        assert second.metric("tradewatch_invalid_events_total", topic="miniprogram.events.v1",
                             reason="owner_mismatch") == len(forged)
        assert read_actions(kafka.bootstrap) == []
        assert second.process.poll() is None, "the worker died"
    finally:
        second.stop()
