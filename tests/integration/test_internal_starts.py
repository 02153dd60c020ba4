"""Every internal partition has a committed offset before a worker consumes it (streams.admin).

Faust 0.15 resets a new assignment's position only for partitions with a committed offset; on
one without, it continued from the previous assignment's fetch position and dropped what
came again below it, so the events held there for the watermark were never decided.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.admin import commit_internal_starts, ensure_internal_topics
from streams.config import load_config
from streams.topics import SUBJECT_INPUTS

pytestmark = [pytest.mark.kafka]


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(4)]
        found = await admin.list_consumer_group_offsets(group, partitions=tps)
        return {tp.partition: meta.offset for tp, meta in found.items()}
    finally:
        await admin.close()


def test_a_fresh_group_gets_the_first_offset_of_every_partition_and_an_existing_commit_is_kept(kafka):
    config = load_config({"TRADEWATCH_BROKER": kafka.bootstrap, "TRADEWATCH_APP_ID": "tw-starts",
                          "TRADEWATCH_PARTITIONS": "4"})
    topic = f"tw-starts-{SUBJECT_INPUTS}"

    async def scenario() -> tuple[list[int], dict[int, int], list[int], dict[int, int]]:
        await ensure_internal_topics(config)
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
        await producer.start()
        try:
            for _ in range(3):
                await producer.send_and_wait(topic, b"x", partition=1)
        finally:
            await producer.stop()
        first = await commit_internal_starts(config)
        after_first = await committed(kafka.bootstrap, "tw-starts", topic)
        again = await commit_internal_starts(config)
        return first, after_first, again, await committed(kafka.bootstrap, "tw-starts", topic)

    first, after_first, again, after_again = asyncio.run(scenario())
    assert sorted(first) == [0, 1, 2, 3]
    assert after_first == {0: 0, 1: 0, 2: 0, 3: 0}  # the first offset, not the end: nothing skipped
    assert again == [] and after_again == after_first
