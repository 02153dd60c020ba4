"""Creating and checking tradewatch's topics (``tradewatch topics``), and the consumer groups' committed offsets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.config import Config, ConfigError
from streams.security import start_checked
from streams.topics import (
    INPUT_TOPICS,
    MINI_PROGRAM_EVENTS,
    OUTPUT_TOPICS,
    SUBJECT_INPUTS,
    SUBJECT_STATE_TABLE,
    TOPIC_SPECS,
    owners_topic,
)


@dataclass
class TopicsReport:
    """What ``tradewatch topics`` did (or, dry, would do), and what it found wrong."""

    created: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each, naming the topic


async def create_topics(config: Config, dry_run: bool = False) -> TopicsReport:
    """Create the missing topics and check the existing ones against what tradewatch needs.

    The broker answers a creation per topic: a refused one (a replication factor above the
    number of brokers, say) is a problem, never "created". An existing topic with another
    partition count, cleanup policy or retention is a problem too — a compacted posts topic
    would silently drop posts, a deleting qualifications topic would forget licences.
    """
    report = TopicsReport()
    admin = await _admin(config)
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in TOPIC_SPECS if spec.name not in existing]
        present = [spec for spec in TOPIC_SPECS if spec.name in existing]
        if missing and dry_run:
            report.created = [spec.name for spec in missing]
        elif missing:
            response = await admin.create_topics([
                NewTopic(name=spec.name, num_partitions=config.partitions,
                         replication_factor=config.replication, topic_configs=spec.config())
                for spec in missing
            ])
            for topic, code, *message in response.topic_errors:
                if code == 0:
                    report.created.append(topic)
                else:
                    detail = message[0] if message and message[0] else ""
                    report.problems.append(f"{topic}: the broker refused to create it: "
                                           f"{kafka_errors.for_code(code).__name__}{': ' + detail if detail else ''}")
        if present:
            report.problems += await _mismatches(admin, config, present)
    finally:
        await admin.close()
    return report


async def _mismatches(admin: AIOKafkaAdminClient, config: Config, specs: list) -> list[str]:
    problems = []
    described = {topic["topic"]: topic for topic in await admin.describe_topics([spec.name for spec in specs])}
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, spec.name) for spec in specs])
    configs: dict[str, dict[str, str]] = {}
    for response in responses:
        for _code, _message, _type, name, entries in response.resources:
            configs[name] = {entry[0]: entry[1] for entry in entries}
    for spec in specs:
        partitions = len(described.get(spec.name, {}).get("partitions", []))
        if partitions != config.partitions:
            problems.append(f"{spec.name}: {partitions} partitions, TRADEWATCH_PARTITIONS={config.partitions}")
        actual = configs.get(spec.name, {})
        for key, wanted in spec.config().items():
            if actual.get(key) != wanted:
                problems.append(f"{spec.name}: {key}={actual.get(key)}, wanted {wanted}")
    return problems


async def missing_input_topics(config: Config) -> list[str]:
    """Input and output topics that do not exist (the worker refuses to start without them)."""
    admin = await _admin(config)
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    return [name for name in INPUT_TOPICS + OUTPUT_TOPICS if name not in existing]


async def ensure_internal_topics(config: Config) -> list[str]:
    """Create the worker's internal topics before Faust subscribes to them.

    Faust creates them itself, but a consumer that subscribes in the same moment can miss a
    topic created a few milliseconds earlier ("Ignoring missing topic") and only pick it up at
    the next metadata refresh, five minutes later: a fresh deployment that decides nothing for
    five minutes (seen in the benchmark). Creating them first closes that window.
    """
    wanted = {
        f"{config.app_id}-{SUBJECT_INPUTS}": {"cleanup.policy": "delete"},
        f"{config.app_id}-{SUBJECT_STATE_TABLE}-changelog": {"cleanup.policy": "compact"},
    }
    admin = await _admin(config)
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name=name, num_partitions=config.partitions, replication_factor=config.replication,
                     topic_configs=topic_config)
            for name, topic_config in wanted.items()
            if name not in existing
        ]
        owners = owners_topic(config.app_id)  # partition p binds the apps of input partition p
        inputs = await _partitions_of(admin, MINI_PROGRAM_EVENTS)
        if owners not in existing:
            missing.append(NewTopic(name=owners, num_partitions=inputs, replication_factor=config.replication,
                                    topic_configs={"cleanup.policy": "compact"}))
        elif (count := await _partitions_of(admin, owners)) != inputs:
            raise ConfigError(
                f"{owners} has {count} partitions and {MINI_PROGRAM_EVENTS} {inputs}, so apps would be checked "
                f"against another partition's owner bindings; the partition count of {MINI_PROGRAM_EVENTS} "
                f"is fixed for a deployment (docs/design.md, \"Mini-program owners\")"
            )
        if missing:
            await admin.create_topics(missing)
        return [topic.name for topic in missing]
    finally:
        await admin.close()


async def partition_count(config: Config, topic: str) -> int:
    """How many partitions ``topic`` has (0: it does not exist)."""
    admin = await _admin(config)
    try:
        return await _partitions_of(admin, topic)
    finally:
        await admin.close()


async def _partitions_of(admin: AIOKafkaAdminClient, topic: str) -> int:
    described = await admin.describe_topics([topic])
    return len(described[0].get("partitions", [])) if described else 0


async def _admin(config: Config) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=config.bootstrap_servers,
        client_id=f"{config.app_id}-admin",
        **config.security.aiokafka_kwargs(),
    )
    await start_checked(admin, config.security, config.bootstrap_servers)
    return admin


class CommittedOffsets:
    """A consumer group's committed offsets as the broker holds them.

    *Where deciding an internal partition resumes* in a new assignment (:meth:`start`): the
    committed offset, or the log's first offset if nothing was ever committed. Faust (0.15)
    forgets its committed offsets at a revoke and learns them again only after it has
    delivered messages of the new assignment from wherever its fetcher stood, and it commits
    the first run of acknowledged offsets even when that run starts past offsets never
    decided. Taken from the broker, the start makes :class:`~streams.ordering.OffsetOrder`
    hold whatever is delivered ahead of it until the missing offsets are fetched again.

    *How far each owned partition is done* (:meth:`of_many`), for lag and commit stalls:
    Faust updates its own view even after a commit failed, the broker's view does not lie.
    """

    def __init__(self, config: Config, group: str,
                 earliest: Callable[[TopicPartition], Awaitable[int | None]] | None = None) -> None:
        self.config = config
        self.group = group
        self.earliest = earliest
        self._client: AIOKafkaAdminClient | None = None

    async def _admin(self) -> AIOKafkaAdminClient:
        if self._client is None:
            self._client = await _admin(self.config)
        return self._client

    async def start(self, topic: str, partition: int) -> int:
        tp = TopicPartition(topic, partition)
        client = await self._admin()
        offsets = await _retrying(lambda: client.list_consumer_group_offsets(self.group, partitions=[tp]), attempts=5)
        found = offsets.get(tp)
        if found is not None and found.offset >= 0:
            return found.offset
        return (await self.earliest(tp) if self.earliest is not None else None) or 0

    async def of_many(self, tps: Iterable[Any]) -> dict[tuple[str, int], int]:
        """The committed offset of each partition that has one, keyed by (topic, partition)."""
        wanted = [TopicPartition(tp.topic, tp.partition) for tp in tps]
        if not wanted:
            return {}
        client = await self._admin()
        offsets = await client.list_consumer_group_offsets(self.group, partitions=wanted)
        return {(tp.topic, tp.partition): found.offset for tp, found in offsets.items() if found.offset >= 0}

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


async def commit_internal_starts(config: Config) -> list[int]:
    """Give every partition of the internal topic a committed offset (its first) if it has none.

    Faust (0.15) seeks a new assignment's partitions to their committed offsets and, for a
    partition without one, keeps its fetcher's old position and its old read offset: after a
    rebalance it went on from where the previous assignment had fetched to, and dropped the
    records before that when they were fetched again. With an offset committed for every
    partition, each assignment starts at the committed one. Returns the partitions committed
    here; a group already running (its members own the commits) is left alone.
    """
    from aiokafka import AIOKafkaConsumer
    from aiokafka.errors import KafkaError

    topic = f"{config.app_id}-{SUBJECT_INPUTS}"
    admin = await _admin(config)
    try:
        described = await admin.describe_topics([topic])
        partitions = [p["partition"] for p in described[0]["partitions"]]
        tps = [TopicPartition(topic, p) for p in partitions]
        committed = await _retrying(lambda: admin.list_consumer_group_offsets(config.app_id, partitions=tps))
    finally:
        await admin.close()
    unset = [tp for tp in tps if tp not in committed or committed[tp].offset < 0]
    if not unset:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=config.bootstrap_servers, group_id=config.app_id,
                                enable_auto_commit=False, **config.security.aiokafka_kwargs())
    await start_checked(consumer, config.security, config.bootstrap_servers)
    try:
        consumer.assign(unset)
        firsts = await consumer.beginning_offsets(unset)
        try:
            await consumer.commit({tp: firsts[tp] for tp in unset})
        except KafkaError:  # the group has members: the first worker to start committed them
            return []
    finally:
        await consumer.stop()
    return [tp.partition for tp in unset]


async def _retrying(call: Callable[[], Awaitable[Any]], attempts: int = 60) -> Any:
    """``call()``, again while the broker answers with a retriable error (a fresh cluster has no
    group coordinator for its first seconds: GroupCoordinatorNotAvailable)."""
    from aiokafka.errors import KafkaError

    for attempt in range(attempts):
        try:
            return await call()
        except KafkaError as error:
            if not getattr(error, "retriable", False) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
