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
  earlier readers made (a crash in between re-reads inputs that bind the same owner again);
* an event is checked against the bindings of the partition it was read from, so it must sit
  where its ``app_id`` belongs (:func:`check_routing`): keyed by the ``app_id``, on the partition
  Kafka's default partitioner gives that key. Otherwise an event written under another key, or
  to a chosen partition, would meet bindings that do not know its app and bind it afresh.

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
from streams.core.rejections import MISROUTED
from streams.decode import DecodeError
from streams.readers import read_to_end
from streams.topics import owners_topic
from streams.wire import subject_partition

log = logging.getLogger("tradewatch")

__all__ = ["OwnerLedger", "OwnerMismatch", "binding_record", "check_routing", "parse_binding"]

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


def check_routing(key: bytes | None, partition: int, app_id: str, partitions: int) -> None:
    """Raise ``DecodeError(misrouted)`` unless a mini-program event read from ``partition`` (of
    ``partitions``) is keyed by its ``app_id`` and sits on the partition that key belongs to."""
    wanted = app_id.encode()
    if key != wanted:
        raise DecodeError(MISROUTED, "a mini-program event must be keyed by its app_id")
    home = subject_partition(wanted, partitions) if partitions > 0 else partition  # 0: no metadata yet
    if partition != home:
        raise DecodeError(MISROUTED, f"mini program {app_id!r} belongs on partition {home}, not {partition}")


class OwnerLedger:
    """The bindings of the input partitions intake reads now, one :class:`OwnerBindings` each."""

    def __init__(self, app_id: str, consumer_factory: Any) -> None:
        self.topic = owners_topic(app_id)
        self._consumer_factory = consumer_factory  # () -> an unstarted AIOKafkaConsumer without a group
        self._partitions: dict[int, OwnerBindings] = {}
        self._revocations = 0

    def revoke(self, partitions: Iterable[int]) -> None:
        """Forget partitions another intake reads now (its bindings move on without us)."""
        self._revocations += 1
        for partition in partitions:
            self._partitions.pop(partition, None)

    async def bindings(self, partitions: Iterable[int]) -> dict[int, OwnerBindings]:
        """The bindings of ``partitions`` for one batch, read from the topic where not known yet.

        The batch checks its events against what this returns even if a rebalance takes a
        partition away meanwhile (its offsets then fail to commit, and the new reader reads
        them again). What was read is kept for later batches only if no rebalance revoked
        anything while it was read: a partition revoked and given back in between may have
        gained bindings from its reader in the meantime, so it is read again.
        """
        wanted = set(partitions)
        known = {partition: self._partitions[partition] for partition in wanted if partition in self._partitions}
        missing = sorted(wanted - set(known))
        revocations = self._revocations
        loaded = await self._read(missing) if missing else {}  # a revoke may empty _partitions meanwhile
        if self._revocations == revocations:
            self._partitions.update(loaded)
        return known | loaded

    async def _read(self, wanted: list[int]) -> dict[int, OwnerBindings]:
        """Read the bindings of ``wanted`` from their start to their end offset."""
        consumer: AIOKafkaConsumer = self._consumer_factory()
        await consumer.start()
        loaded = {partition: OwnerBindings() for partition in wanted}
        try:
            tps = [TopicPartition(self.topic, partition) for partition in wanted]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            async for tp, record in read_to_end(consumer, tps):
                binding = parse_binding(record.key, record.value)
                if binding is None:
                    log.warning("owner bindings: %s[%s]@%s is not a binding; skipped",
                                tp.topic, tp.partition, record.offset)
                    continue
                loaded[tp.partition].load(*binding)
        finally:
            await consumer.stop()
        return loaded
