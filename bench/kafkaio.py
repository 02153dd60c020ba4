"""Kafka plumbing for the benchmark: bulk produce, offsets, and watching a group drain.

Every contender is timed the same way: by polling its consumer group's *committed* offsets
from outside (10 Hz). Each contender commits like tradewatch does (every 1000 messages or
every second), so the commit delay is the same at the start and at the end of a run and
cancels out of the rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from streams.intake import intake_group

POLL_INTERVAL_S = 0.1


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes
    value: bytes


@dataclass(frozen=True)
class DrainResult:
    """How fast a consumer group worked through its backlog."""

    messages: int  # counted between the first and the last observation
    seconds: float
    completed: bool

    @property
    def eps(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


async def produce_all(bootstrap: str, messages: Sequence[Message], batch: int = 2000) -> int:
    """Send every message (acks=1, batched) and wait for all acknowledgements."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks=1, max_batch_size=262144)
    await producer.start()
    try:
        pending = []
        for message in messages:
            pending.append(await producer.send(message.topic, message.value, key=message.key))
            if len(pending) >= batch:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return len(messages)


async def create_topics(bootstrap: str, names: Iterable[str], partitions: int) -> None:
    """Scratch topics with ``partitions`` partitions (existing ones are left alone)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(name, partitions, 1) for name in names if name not in existing]
        if new:
            await admin.create_topics(new)
    finally:
        await admin.close()


async def topic_partitions(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        result = []
        for topic in topics:
            for partition in sorted(consumer.partitions_for_topic(topic) or await _partitions(consumer, topic)):
                result.append(TopicPartition(topic, partition))
        return result
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    metadata = await consumer._client.fetch_all_metadata()
    return metadata.partitions_for_topic(topic) or set()


async def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
    tps = await topic_partitions(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps)) if tps else {}
    finally:
        await consumer.stop()


async def commit_group_offsets(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Start ``group`` at ``offsets`` (so a fresh worker skips the prefilled backlog)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(dict(offsets))
    finally:
        await consumer.stop()


async def committed(admin: AIOKafkaAdminClient, group: str, topics: set[str]) -> int:
    """Sum of the group's committed offsets over ``topics`` (0 before the first commit)."""
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    except KafkaError:  # no coordinator yet (the offsets topic appears with the first group)
        return 0
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic in topics and meta.offset > 0)


async def watch_drain(
    bootstrap: str,
    group: str,
    progress_topics: set[str],
    done: DoneCheck,
    timeout_s: float,
    check_alive: Callable[[], None] = lambda: None,
    processed: Callable[[], Awaitable[float]] | None = None,
) -> DrainResult:
    """Time a contender from its first progress to the moment ``done`` says the backlog is processed.

    Progress is the group's committed offsets on ``progress_topics``, or ``processed()`` (events
    fully handled, e.g. a worker's own counter) for a two-stage pipeline whose first stage
    commits far ahead of its second. eps = (progress at the end - progress at the first
    observation) / (time between them): the sustained rate, without the start-up.
    """
    poll_s = POLL_INTERVAL_S if processed is None else 5 * POLL_INTERVAL_S  # a scrape costs the worker more
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        watch_started = time.monotonic()
        deadline = watch_started + timeout_s
        first_at, first_count = None, 0
        last_count = 0
        while time.monotonic() < deadline:
            check_alive()
            count = int(await processed()) if processed else await committed(admin, group, progress_topics)
            now = time.monotonic()
            if first_at is None and count > 0:
                first_at, first_count = now, count
            last_count = count
            if first_at is not None and await done(admin, count):
                if count == first_count or now - first_at < poll_s:  # drained within one poll: use the whole run
                    return DrainResult(count, max(now - watch_started, poll_s), True)
                return DrainResult(count - first_count, now - first_at, True)
            await asyncio.sleep(poll_s)
        elapsed = time.monotonic() - first_at if first_at is not None else timeout_s
        return DrainResult(last_count - first_count, elapsed, False)
    finally:
        await admin.close()


async def wait_stored(bootstrap: str, group: str, input_topics: set[str], internal_topic: str, timeout_s: float,
                      check_alive: Callable[[], None] = lambda: None) -> None:
    """Wait until tradewatch has committed every input written so far through both stages: each
    event decided and its account's state stored (a deciding offset is committed only then)."""
    total = sum((await end_offsets(bootstrap, input_topics)).values())
    done = TwoStageDone(bootstrap, group, input_topics, total, internal_topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        while not await done(admin, total):
            check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group} did not commit its inputs through both stages in {timeout_s:.0f} s")
            await asyncio.sleep(POLL_INTERVAL_S)
    finally:
        await admin.close()


class DoneCheck:
    """Callable deciding whether a group has processed everything it will ever see."""

    async def __call__(self, admin: AIOKafkaAdminClient, progress: int) -> bool:  # pragma: no cover
        raise NotImplementedError


class CommittedReaches(DoneCheck):
    """Done when the committed offsets on the progress topics reach a fixed total."""

    def __init__(self, total: int) -> None:
        self.total = total

    async def __call__(self, admin: AIOKafkaAdminClient, progress: int) -> bool:  # noqa: ARG002 - the interface
        return progress >= self.total


class TwoStageDone(DoneCheck):
    """tradewatch: every input handled, and both stages (inputs, internal topic) fully committed.

    Intake commits the inputs in its own group (``<app id>-intake``); the internal topic keeps
    receiving watermark records while the pipeline is quiet, so its end is taken once, when
    every input is committed, and the deciding group must commit up to that."""

    def __init__(self, bootstrap: str, group: str, input_topics: set[str], input_total: int, internal_topic: str) -> None:
        self.bootstrap = bootstrap
        self.group = group
        self.input_topics = input_topics
        self.input_total = input_total
        self.internal_topic = internal_topic
        self._internal_end: int | None = None

    async def __call__(self, admin: AIOKafkaAdminClient, progress: int) -> bool:
        if self._internal_end is None:
            if (progress < self.input_total
                    or await committed(admin, intake_group(self.group), self.input_topics) < self.input_total):
                return False
            self._internal_end = sum((await end_offsets(self.bootstrap, [self.internal_topic])).values())
        return await committed(admin, self.group, {self.internal_topic}) >= self._internal_end
