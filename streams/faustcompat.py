"""The one module that reads or replaces faust-streaming's private consumer and stream state.

faust-streaming (pinned at 0.15.3 with aiokafka 0.14.0 in ``constraints.txt``) has no public
hooks for what the live shell must control: where its fetcher drops messages as already read,
which offsets it records as gaps it may commit past, what it has acknowledged and committed,
the commit call itself, and which message a table write is attributed to, what the app waits for at a rebalance, and how
a table names its value codec. Each function here
names the private attribute it relies on; ``tests/test_faust_characterisation.py`` pins those
behaviours for the pinned versions, so an upgrade that changes them fails there, not in
production. Nothing else in ``streams/`` touches a private Faust attribute
(``tests/test_faust_characterisation.py`` checks that too).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import faust
from faust.serializers import codecs

from streams import metrics, topics
from streams.core.rejections import INVALID_INTERNAL
from streams.core.state import InvalidState, SubjectState, restored_state

log = logging.getLogger("tradewatch")

Gap = Callable[[Any, int, int], Awaitable[None]]
Commit = Callable[[Mapping[Any, int]], Awaitable[bool]]
_Offsets = TypeVar("_Offsets")


def replace_read_offsets(consumer: Any, wrap: Callable[[Any], _Offsets]) -> _Offsets:
    """Replace ``Consumer._read_offset`` (partition -> the offset below which Faust's fetch
    loop drops messages) with ``wrap(the current mapping)``, and return the replacement."""
    replacement = wrap(consumer._read_offset)
    consumer._read_offset = replacement
    return replacement


def acked_head(consumer: Any, tp: Any) -> int | None:
    """The lowest offset Faust holds as acknowledged but not yet committed (``_acked``)."""
    acked = consumer._acked.get(tp)
    return min(acked) if acked else None


def committed_offset(consumer: Any, tp: Any) -> int | None:
    """The offset Faust believes is committed for ``tp`` (``_committed_offset``)."""
    committed: int | None = consumer._committed_offset.get(tp)
    return committed


def keep_gaps_off(consumer: Any, topic: str) -> Gap:
    """Stop Faust recording skipped offsets of ``topic`` as a gap it may commit past
    (``Consumer._add_gap``); other topics keep Faust's behaviour. Returns Faust's own gap
    recorder, for offsets the caller has verifiably given up on."""
    add_gap: Gap = consumer._add_gap

    async def add_gap_except(tp: Any, offset_from: int, offset_to: int) -> None:
        if tp.topic != topic:
            await add_gap(tp, offset_from, offset_to)

    consumer._add_gap = add_gap_except
    return add_gap


def wrap_commit(consumer: Any, wrap: Callable[[Commit], Commit]) -> None:
    """Replace ``Consumer._commit(offsets) -> bool`` (what ``_commit_offsets`` awaits; False
    when Kafka refused) with ``wrap(the original)``."""
    consumer._commit = wrap(consumer._commit)


async def partitions_view(consumer: Any) -> list[dict[str, Any]]:
    """Per assigned partition (the changelog's and Faust's leader topic's too): the fetch
    position, the log end, the committed offset as Kafka holds it (the next offset the group
    resumes from; Faust's ``_committed_offset`` is the last offset done, one less), the lowest
    acknowledged-but-uncommitted offset (``_acked``) and whether it is paused
    (``_paused_partitions``). For the loopback debug view."""
    paused = consumer._paused_partitions
    view = []
    for tp in sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition)):
        try:
            position = await consumer.position(tp)
        except Exception:  # noqa: BLE001 - revoked meanwhile, or nothing fetched yet
            position = None
        view.append({
            "topic": tp.topic, "partition": tp.partition, "position": position,
            "highwater": consumer.highwater(tp), "committed": _next(committed_offset(consumer, tp)),
            "lowest_acked": acked_head(consumer, tp), "paused": tp in paused,
        })
    return view


def _next(offset: int | None) -> int | None:
    return None if offset is None else offset + 1


def attribute_writes_to(stream: Any, message: Any) -> None:
    """Make the table writes that follow belong to ``message`` (``Stream._set_current_event``):
    Faust files a changelog record in the partition of the current event's message."""
    stream._set_current_event(message)


class WatermarkApp(faust.App):
    """A Faust app that does not wait, at a rebalance or at shutdown, for every delivered record.

    Faust (0.15) waits then until each delivered message is acknowledged. A record whose events
    wait for the watermark is not, and no new marks arrive while Faust waits: the rebalance
    would never end. Instead the app stores and acknowledges what is decided
    (``before_revoke``), commits, and lets the partition's next owner receive the rest again.
    """

    before_revoke: Callable[[], Awaitable[None]] | None = None

    async def _consumer_wait_empty(self, consumer, logger) -> None:  # noqa: ARG002 - Faust's hook
        if self.before_revoke is not None:
            await self.before_revoke()
        await consumer.commit()


class SubjectStateCodec(codecs.Codec):
    """Table values are SubjectState objects in memory and compact JSON in the changelog.

    A restored value is checked first (:func:`streams.core.state.restored_state`): one that
    tradewatch did not write as it stands is not believed — the account starts afresh, with an
    error line and ``tradewatch_invalid_events_total{reason="invalid_internal"}`` — instead of
    immunising the account or stopping the worker at every recovery.
    """

    max_future_skew_s = 600.0  # set from the configuration when the worker starts

    def _dumps(self, obj: SubjectState) -> bytes:
        return obj.to_bytes()

    def _loads(self, s: bytes) -> SubjectState | None:
        try:
            return restored_state(s, time.time() + self.max_future_skew_s)
        except InvalidState as error:
            log.error("a stored account state is not one tradewatch wrote (%s); the account starts afresh", error)
            metrics.INVALID_EVENTS.labels(topics.SUBJECT_STATE_TABLE, INVALID_INTERNAL).inc()
            return None


codecs.register("subject_state", SubjectStateCodec())


class SubjectStateValue:
    """The table's value type, as Faust expects it: it names the codec and passes values through.

    Faust derives a table's changelog serializer from ``value_type._options.serializer`` and
    rebuilds recovered values with ``value_type.from_data``.
    """

    class _options:  # noqa: N801 - Faust's attribute name
        serializer = "subject_state"

    @classmethod
    def from_data(cls, data: SubjectState, preferred_type: object = None) -> SubjectState:  # noqa: ARG003
        return data
