"""Releasing held suspensions once an operator closed their trip.

The held topic (``tradewatch.held.v1``) is read by the consumer group ``<app id>-release``, so
each of its partitions has exactly one reader in the group, which goes through it in offset
order: a held action whose trip was closed for release is signed for and sent to
``enforcement.actions.v1`` and acknowledged, one closed for discard is passed over (it stays on
the held topic, for the record), and the partition's offset is committed after them. A later
action of a held subject (a reinstatement, a closed case) was written behind it, keyed alike, so
it is released after it, once its trip is closed either way: never before the suspension it
undoes. An action
whose trip is still open — or not known yet — stops its partition there (paused, nothing
committed past it) until the breaker record changes. A crash re-reads from the last commit:
a released action may be sent again with its same ``action_id`` (downstream de-duplicates,
as for every action), never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from streams import metrics, topics
from streams.core.breaker import DISCARD, RELEASE, CircuitBreaker
from streams.decode import DecodeError, validate_action
from streams.publisher import HEADER_FOLLOWS, HEADER_TRIP

if TYPE_CHECKING:
    from streams.config import Config

log = logging.getLogger("tradewatch")

Release = Callable[[bytes, bytes, str], Awaitable[None]]  # (key, value, action name), acknowledged


def release_group(app_id: str) -> str:
    return f"{app_id}-release"


def held_trip(record: Any) -> tuple[str, str, bool] | None:
    """(trip id, action name, whether it only follows that trip) of a held action tradewatch
    wrote, or None. A follower is a later action of a held subject, behind it in order."""
    headers = dict(record.headers or ())
    own, follows = headers.get(HEADER_TRIP), headers.get(HEADER_FOLLOWS)
    trip = own or follows
    try:
        action = orjson.loads(record.value or b"")
        validate_action(action)
    except (orjson.JSONDecodeError, DecodeError):
        return None
    if not trip or (own and follows) or record.key != action["subject"]["id"].encode():
        return None
    return trip.decode("utf-8", "replace"), action["action"], not own


class Releaser:
    def __init__(self, config: Config, breaker: CircuitBreaker, changes: Callable[[], int], release: Release) -> None:
        self.config = config
        self.breaker = breaker
        self.changes = changes  # moves whenever a trip record was taken in
        self.release = release
        self.consumer: Any = None

    def make_consumer(self) -> AIOKafkaConsumer:
        config = self.config
        return AIOKafkaConsumer(
            bootstrap_servers=config.bootstrap_servers,
            group_id=release_group(config.app_id),
            client_id=f"{config.app_id}-release",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(config.session_timeout_s * 1000),
            heartbeat_interval_ms=int(max(1.0, config.session_timeout_s / 10) * 1000),
            **config.security.aiokafka_kwargs(),
        )

    async def run(self) -> None:
        self.consumer = consumer = self.make_consumer()
        waiting: set[Any] = set()  # partitions paused at a held action whose trip is open
        consumer.subscribe([topics.HELD], listener=_ForgetRevoked(waiting))
        await consumer.start()
        seen = self.changes()
        try:
            while True:
                if waiting and self.changes() != seen:
                    consumer.resume(*(waiting & consumer.assignment()))
                    waiting.clear()
                seen = self.changes()
                batch = await consumer.getmany(timeout_ms=1000)
                offsets: dict[Any, int] = {}
                for tp, records in batch.items():
                    for record in records:
                        if tp not in consumer.assignment():  # revoked meanwhile: its next reader settles the rest
                            break
                        if not await self.settle(record):
                            self._wait_at(tp, record.offset, waiting)
                            break
                        offsets[tp] = record.offset + 1
                kept = consumer.assignment()  # a revoked one in the dict would fail the whole commit
                offsets = {tp: offset for tp, offset in offsets.items() if tp in kept}
                if offsets:
                    try:
                        await consumer.commit(offsets)
                    except (CommitFailedError, IllegalStateError, KafkaError) as error:
                        log.warning("release: commit refused (%s); the partition's next reader settles "
                                    "those held actions again", type(error).__name__)
        finally:
            await consumer.stop()

    def _wait_at(self, tp: Any, offset: int, waiting: set[Any]) -> None:
        """Stop reading ``tp`` at ``offset`` until the breaker record moves."""
        try:
            self.consumer.seek(tp, offset)  # our own consumer: read it again on resume
            self.consumer.pause(tp)
        except IllegalStateError:  # revoked while settling: its next reader starts at the last commit
            return
        waiting.add(tp)

    async def settle(self, record: Any) -> bool:
        """Release or discard one held action; False when its trip is not closed (wait)."""
        held = held_trip(record)
        if held is None:
            log.error("release: %s[%s]@%s is not a held action; skipped", record.topic, record.partition, record.offset)
            metrics.HELD_SETTLED.labels("invalid").inc()
            return True
        trip_id, action, follower = held
        disposition = self.breaker.disposition(trip_id)
        if disposition is None:
            return False
        if disposition == RELEASE or follower:  # a follower goes out once what it follows is settled
            await self.release(record.key, record.value, action)
            metrics.HELD_SETTLED.labels("released").inc()
            log.info("released held %s %s (trip %s)", action, record.key.decode("utf-8", "replace"), trip_id)
        else:
            assert disposition == DISCARD
            metrics.HELD_SETTLED.labels("discarded").inc()
            log.info("discarded held %s %s (trip %s)", action, record.key.decode("utf-8", "replace"), trip_id)
        return True


class _ForgetRevoked(ConsumerRebalanceListener):
    """A partition given to another reader is no longer ours to resume."""

    def __init__(self, waiting: set[Any]) -> None:
        self.waiting = waiting

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.waiting.difference_update(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:  # noqa: ARG002 - nothing to do
        return None
