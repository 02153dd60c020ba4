"""Mini-program owner bindings, kept on a compacted topic next to the input they guard.

The rule is :class:`streams.core.owners.OwnerBindings` (the first owner seen binds an app). This
is its storage: ``<app_id>-miniprogram-owners`` has one partition per partition of
``miniprogram.events.v1`` and partition *p* holds the bindings of the apps read from input
partition *p*, keyed by ``app_id``. Correct by construction:

* intake sends a new binding and waits for Kafka's acknowledgement together with the
  batch's internal records, before it commits the input offset that made it; so whatever an
  input offset commits, the binding it made is already in the log;
* before intake validates the first input of a partition it was given, it reads that
  bindings partition from its start to its end offset, so it knows every binding the partition's
  earlier readers made (a crash in between re-reads inputs that bind the same owner again).

Only tradewatch writes the topic (its ACL grant covers ``<app_id>-*``); a record that is not a
binding tradewatch wrote is skipped with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.core.owners import OwnerBindings, OwnerMismatch
from streams.topics import owners_topic

log = logging.getLogger("tradewatch")

__all__ = ["OwnerLedger", "OwnerMismatch", "binding_record", "parse_binding"]

MAX_ID = 128  # the schema's bound for app and account ids


def binding_record(app_id: str, owner: str, bound_at: float) -> tuple[bytes, bytes]:
    """(key, value) of one binding on the bindings topic."""
    value = {"app_id": app_id, "owner_account_id": owner, "bound_at": round(bound_at, 3)}
    return app_id.encode(), orjson.dumps(value)


def parse_binding(key: bytes | None, value: bytes | None) -> tuple[str, str] | None:
    """(app_id, owner) of a bindings record, or None when it is not one tradewatch wrote."""
    try:
        document = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    app_id, owner = document.get("app_id"), document.get("owner_account_id")
    if not (type(app_id) is str and type(owner) is str and 0 < len(app_id) <= MAX_ID and 0 < len(owner) <= MAX_ID):
        return None
    if key != app_id.encode():
        return None
    return app_id, owner


class OwnerLedger:
    """The bindings of the input partitions intake reads now, one :class:`OwnerBindings` each."""

    def __init__(self, app_id: str, consumer_factory: Any) -> None:
        self.topic = owners_topic(app_id)
        self._consumer_factory = consumer_factory  # () -> an unstarted AIOKafkaConsumer without a group
        self._partitions: dict[int, OwnerBindings] = {}

    def check(self, partition: int, app_id: str, claimed: str) -> bool:
        """:meth:`OwnerBindings.check` for an event read from input partition ``partition``."""
        bindings = self._partitions.get(partition)
        if bindings is None:
            raise RuntimeError(f"owner bindings of input partition {partition} are not loaded")  # a bug: load() first
        return bindings.check(app_id, claimed)

    def revoke(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._partitions.pop(partition, None)

    async def load(self, partitions: Iterable[int]) -> int:
        """Read the bindings of ``partitions`` from their start to their end offset; the count read."""
        wanted = sorted(set(partitions) - set(self._partitions))
        if not wanted:
            return 0
        consumer: AIOKafkaConsumer = self._consumer_factory()
        await consumer.start()
        loaded = {partition: OwnerBindings() for partition in wanted}
        read = 0
        try:
            tps = [TopicPartition(self.topic, partition) for partition in wanted]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            remaining = {tp for tp in tps if ends[tp] > await consumer.position(tp)}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=1000)
                for tp, records in batch.items():
                    for record in records:
                        binding = parse_binding(record.key, record.value)
                        if binding is None:
                            log.warning("owner bindings: %s[%s]@%s is not a binding; skipped",
                                        tp.topic, tp.partition, record.offset)
                            continue
                        loaded[tp.partition].load(*binding)
                        read += 1
                for tp in list(remaining):
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
        finally:
            await consumer.stop()
        self._partitions.update(loaded)
        return read
