"""Live: a mini program stays bound to its first owner across worker restarts, and forged events
claiming another owner — on the app's partition, under another key, or on a partition the
writer chose — go to the dead-letter topic instead of suspending it."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.topics import owners_topic
from streams.wire import subject_partition
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

    # a new worker: the binding now comes from the bindings topic, not from memory. Each way of
    # forging alone would suspend the app (tests/offline/test_replay_owners.py); 170 events each
    claimed = resale_records(INTRUDER, APP, count=170, every_s=1800)
    other_key = [record | {"key": INTRUDER} for record in resale_records(INTRUDER, APP, count=170, every_s=1800)]
    assert subject_partition(INTRUDER.encode(), 4) != subject_partition(APP.encode(), 4)
    other_partition = [record | {"partition": (subject_partition(APP.encode(), 4) + 1) % 4}
                       for record in resale_records(INTRUDER, APP, count=170, every_s=1800)]
    forged = claimed + other_key + other_partition
    second = WorkerProcess(kafka.bootstrap, APP_ID, tmp_path / "second").start()
    try:
        second.wait_ready()
        produce(kafka.bootstrap, forged)
        dead = wait_for(lambda: len(found := read_all(kafka.bootstrap, "tradewatch.dlq.v1")) >= len(forged) and found,
                        90, "every forged event dead-lettered")
        assert len(dead) == len(forged)
        reasons = [dict(letter.headers)["tw-error-class"] for letter in dead]
        assert sorted(reasons) == sorted([b"owner_mismatch"] * len(claimed) + [b"misrouted"] * 340)
        for reason, count in (("owner_mismatch", len(claimed)), ("misrouted", len(other_key) + len(other_partition))):
            assert second.metric("tradewatch_invalid_events_total", topic="miniprogram.events.v1", reason=reason) == count
        assert read_actions(kafka.bootstrap) == []
        assert second.process.poll() is None, "the worker died"
    finally:
        second.stop()


def test_a_worker_refuses_to_start_when_the_bindings_no_longer_match_the_input_partitions(kafka, tmp_path):
    """After miniprogram.events.v1 grew, its apps sit on other partitions than their bindings:
    a worker would check them against bindings that do not know them."""
    async def make_owners_topic_with_two_partitions() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(owners_topic("tw-grown"), 2, 1, topic_configs={"cleanup.policy": "compact"})])
        finally:
            await admin.close()

    asyncio.run(make_owners_topic_with_two_partitions())
    worker = WorkerProcess(kafka.bootstrap, "tw-grown", tmp_path, {"TRADEWATCH_CONNECT_TIMEOUT_SECONDS": "5"}).start()
    assert worker.process.wait(timeout=60) != 0
    lines = [line for line in worker.log_tail().splitlines() if line.strip()]
    assert "tw-grown-miniprogram-owners has 2 partitions and miniprogram.events.v1 4" in lines[-1]
    assert "Traceback" not in worker.log_tail()
