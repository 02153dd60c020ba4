"""Faults on the real broker: kill -9 workers, restart the broker, shrink and grow the group.

After each: every action replay produces is present, no action_id ever carries two different
contents, duplicates (at-least-once) are counted and reported, and account state continued
from the changelog (a lost state would re-decide a case with a different deadline or time,
which the content check catches).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.core.policy import load_policy
from streams.offline.replay import replay
from streams.offline.simulate import simulate
from tests.integration.harness import WorkerProcess, produce, read_actions, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

INPUTS = ("posts.v1", "miniprogram.events.v1", "qualifications.v1", "enforcement.appeals.v1")


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
    result = replay([(str(i), orjson.dumps(r)) for i, r in enumerate(records)], load_policy())
    actions = {a["action_id"]: a for a in result.actions}
    assert {a["action"] for a in actions.values()} >= {"qualification_reminder", "suspend"}
    return actions


def without_wall_clock(action: dict) -> bytes:
    return orjson.dumps({k: v for k, v in action.items() if k != "decided_at"}, option=orjson.OPT_SORT_KEYS)


async def _lag(bootstrap: str, group: str) -> dict[str, int]:
    """Uncommitted messages per partition of the inputs and the internal topic (lagging ones only)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        topics = [*INPUTS, f"{group}-subject-inputs"]
        metadata = await consumer._client.fetch_all_metadata()  # noqa: SLF001
        tps = [TopicPartition(t, p) for t in topics for p in (metadata.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(tps)
        lag = {f"{tp.topic}[{tp.partition}]": end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items()}
        return {name: behind for name, behind in lag.items() if behind}
    finally:
        await consumer.stop()
        await admin.close()


def wait_caught_up(bootstrap: str, group: str, timeout: float = 120) -> None:
    lagging: dict[str, int] = {}

    def caught_up() -> bool:
        lagging.clear()
        lagging.update(asyncio.run(_lag(bootstrap, group)))
        return not lagging

    try:
        wait_for(caught_up, timeout, f"group {group} to commit everything", interval=0.5)
    except AssertionError as error:
        raise AssertionError(f"{error}; still uncommitted: {lagging}") from None


def caught_up_or_restarted(kafka, group: str, worker: WorkerProcess, data_dir) -> WorkerProcess:
    """Wait for the group to commit everything; if it stalls, restart ``worker`` once.

    Seen with Faust 0.15.3 after a hard kill or a rebalance (at session start too, 1 run in 4
    of the shrink/grow test on this machine): an input partition gets no delivery and its
    commit stops advancing (the lag alert fires; see README "Guarantees"). A restart resumes
    from the committed offsets, and nothing may be lost or doubled by that: the caller still
    compares every action with replay.
    """
    try:
        wait_caught_up(kafka.bootstrap, group, timeout=90)
        return worker
    except AssertionError as stalled:
        print(f"restarting a stalled worker: {stalled}")
    worker.stop()
    worker = WorkerProcess(kafka.bootstrap, group, data_dir).start()
    worker.wait_ready()
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
    worker = WorkerProcess(kafka.bootstrap, group, tmp_path / "w0").start()
    try:
        worker.wait_ready()
        for index, chunk in enumerate(chunks(records, 5)):
            produce(kafka.bootstrap, chunk)
            if index in (1, 3):  # kill -9 while the chunk is being processed, then replace it
                wait_for(lambda: worker.metric("tradewatch_events_consumed_total") > 0, 60, "processing to start")
                worker.kill()
                worker = WorkerProcess(kafka.bootstrap, group, tmp_path / f"w{index}").start()
                worker.wait_ready()
        worker = caught_up_or_restarted(kafka, group, worker, tmp_path / "restarted")
        check_against_replay(kafka.bootstrap, expected)
    finally:
        worker.stop()


def test_broker_restart_mid_stream(kafka, tmp_path):
    records = single_source_recording()
    expected = expected_actions(records)
    group = "tw-broker"
    worker = WorkerProcess(kafka.bootstrap, group, tmp_path).start()
    try:
        worker.wait_ready()
        first, second = chunks(records, 2)
        produce(kafka.bootstrap, first)
        wait_for(lambda: worker.metric("tradewatch_events_consumed_total") > 100, 60, "processing to start")
        kafka.stop()
        kafka.start()  # same log directory and ports: a durable restart
        produce(kafka.bootstrap, second)
        wait_caught_up(kafka.bootstrap, group, timeout=180)
        check_against_replay(kafka.bootstrap, expected)
        assert worker.process.poll() is None, "the worker did not survive the broker restart"
    finally:
        worker.stop()


def test_group_shrinks_and_grows(kafka, tmp_path):
    records = single_source_recording()
    expected = expected_actions(records)
    group = "tw-rebalance"
    first = WorkerProcess(kafka.bootstrap, group, tmp_path / "a").start()
    second = WorkerProcess(kafka.bootstrap, group, tmp_path / "b").start()
    third = None
    try:
        first.wait_ready()
        second.wait_ready()
        one, two, three = chunks(records, 3)
        produce(kafka.bootstrap, one)
        second.stop()  # two workers -> one
        produce(kafka.bootstrap, two)
        third = WorkerProcess(kafka.bootstrap, group, tmp_path / "c").start()  # one -> two
        third.wait_ready()
        produce(kafka.bootstrap, three)
        third = caught_up_or_restarted(kafka, group, third, tmp_path / "restarted")
        check_against_replay(kafka.bootstrap, expected)
    finally:
        for worker in (first, second, third):
            if worker is not None:
                worker.stop()
