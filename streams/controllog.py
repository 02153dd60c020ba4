"""The control log (``tradewatch.audit.v1``) read back: every control record intake applied.

Intake audits each control record before it sends the record to every deciding side, so a
record on an internal partition is always in the log already. A deciding side that starts on
a partition (a start, a rebalance) reads the log to its end first: the changes whose internal
records lie before its committed offset are in force before it decides anything there. The
records after that offset come again on the partition and are applied once (by control id).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiokafka import TopicPartition

from streams import topics
from streams.core.control import applied_records
from streams.core.events import ControlRecord
from streams.readers import read_to_end

log = logging.getLogger("tradewatch")


class ControlLog:
    """Reads the audit topic from its start (or, ``from_end``, from its end as the first read
    finds it), then on from where it stopped, at each :meth:`sync`."""

    def __init__(self, consumer_factory: Callable[[], Any], partition_count: Callable[[], Awaitable[int]],
                 apply: Callable[[ControlRecord], None] = lambda _record: None, from_end: bool = False) -> None:
        self._from_end = from_end
        self._consumer_factory = consumer_factory
        self._partition_count = partition_count
        self._apply = apply
        self._consumer: Any = None
        self._tps: list[TopicPartition] = []

    async def sync(self) -> int:
        """Read to the log's current end; returns how many applied records were taken in."""
        taken = applied_records(await self.entries())
        for record in taken:
            self._apply(record)
        return len(taken)

    async def entries(self) -> list[dict[str, Any]]:
        """The audit entries from where the last read stopped to the log's current end."""
        if self._consumer is None:
            count = await self._partition_count()
            if not count:
                raise RuntimeError(f"{topics.AUDIT} does not exist (create it with `tradewatch topics`)")
            consumer = self._consumer_factory()
            await consumer.start()
            self._tps = [TopicPartition(topics.AUDIT, partition) for partition in range(count)]
            consumer.assign(self._tps)
            if self._from_end:
                await consumer.seek_to_end(*self._tps)
            else:
                await consumer.seek_to_beginning(*self._tps)
            self._consumer = consumer
        entries: list[dict[str, Any]] = []
        async for tp, record in read_to_end(self._consumer, self._tps):
            try:
                entry = orjson.loads(record.value or b"")
            except orjson.JSONDecodeError:
                entry = None
            if isinstance(entry, dict):
                entries.append(entry)
            else:
                log.error("control log: %s[%s]@%s is not an audit entry; skipped", tp.topic, tp.partition, record.offset)
        return entries

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
