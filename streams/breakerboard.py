"""The circuit breaker's shared record: trips and closes on the compacted ``tradewatch.breaker.v1``.

Every worker reads the topic from its start before it sends its first action (so a restarted
worker keeps holding what the group holds) and then follows it, handing each trip record to
the publisher. A trip or close this worker makes is written and acknowledged before it is in
force here. Keyed by trip id, so compaction keeps each trip's latest record (its close).

Only tradewatch writes the topic (its ACLs); a record that is not a trip is skipped with an
error line, never believed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiokafka import TopicPartition

from streams import topics
from streams.core.breaker import Trip
from streams.readers import read_to_end

log = logging.getLogger("tradewatch")

SendAndWait = Callable[[str, bytes, bytes], Awaitable[None]]  # (topic, key, value), acknowledged


def parse_trip(value: bytes | None) -> Trip | None:
    try:
        return Trip.from_record(orjson.loads(value or b""))
    except orjson.JSONDecodeError:
        return None


class BreakerBoard:
    """Loads and follows the breaker topic; shares this worker's trips and closes."""

    def __init__(self, consumer_factory: Callable[[], Any], partition_count: Callable[[], Awaitable[int]],
                 send_and_wait: SendAndWait, apply: Callable[[Trip], None] | None = None) -> None:
        self._consumer_factory = consumer_factory
        self._partition_count = partition_count
        self._send_and_wait = send_and_wait
        self.apply = apply or (lambda _trip: None)  # the publisher's: puts a trip in force
        self._ready = asyncio.Event()
        self.changes = 0  # counts every record taken in: the releaser looks again when it moves

    async def ready(self) -> None:
        await self._ready.wait()

    def is_ready(self) -> bool:
        """The topic was read to its end once: every trip made before this worker started is known."""
        return self._ready.is_set()

    async def share(self, trip: Trip) -> None:
        await self._send_and_wait(topics.BREAKER, trip.trip_id.encode(), orjson.dumps(trip.to_record()))

    async def run(self) -> None:
        """Read the topic to its end (then :meth:`ready`), and follow it for good."""
        consumer = self._consumer_factory()
        await consumer.start()
        try:
            count = await self._partition_count()
            if not count:
                raise RuntimeError(f"{topics.BREAKER} does not exist (create it with `tradewatch topics`)")
            tps = [TopicPartition(topics.BREAKER, partition) for partition in range(count)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            async for tp, record in read_to_end(consumer, tps):
                self._take(tp, record)
            self._ready.set()
            while True:
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, records in batch.items():
                    for record in records:
                        self._take(tp, record)
        finally:
            await consumer.stop()

    def _take(self, tp: Any, record: Any) -> None:
        trip = parse_trip(record.value)
        if trip is None or record.key != trip.trip_id.encode():
            log.error("circuit breaker: %s[%s]@%s is not a trip record; skipped", tp.topic, tp.partition, record.offset)
            return
        self.apply(trip)
        self.changes += 1
