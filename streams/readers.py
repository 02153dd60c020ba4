"""A consumer that belongs to no group: for reading tradewatch's own topics (owner bindings,
breaker trips, the control log) by hand, partition by partition, from their start."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition

if TYPE_CHECKING:
    from streams.config import Config


def manual_reader(config: Config, role: str) -> AIOKafkaConsumer:
    """An unstarted consumer without a group (nothing committed), client id ``<app id>-<role>``."""
    return AIOKafkaConsumer(
        bootstrap_servers=config.bootstrap_servers,
        group_id=None,
        client_id=f"{config.app_id}-{role}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **config.security.aiokafka_kwargs(),
    )


async def read_to_end(consumer: Any, tps: Sequence[TopicPartition]) -> AsyncIterator[tuple[TopicPartition, Any]]:
    """(partition, record) for every record of ``tps`` from the consumer's positions up to the
    end offsets they have now: what was written before the call, and nothing is waited for."""
    ends = await consumer.end_offsets(list(tps))
    remaining = {tp for tp in tps if ends[tp] > await consumer.position(tp)}
    while remaining:
        batch = await consumer.getmany(*remaining, timeout_ms=1000)
        for tp, records in batch.items():
            for record in records:
                yield tp, record
        for tp in list(remaining):
            if await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
