"""The deciding side of each internal partition: its watermark, its waiting events, its acks.

A :class:`Lane` admits one internal record at a time (in offset order): its events wait in
the lane's :class:`~streams.watermark.ReorderBuffer`, its marks move the lane's
:class:`~streams.watermark.PartitionWatermark`, and :meth:`Lane.release` hands out the events
the watermark passed, oldest first. A record is acknowledged only once every event it carried
was decided, and records are acknowledged in offset order, so a commit never passes an event
still waiting. Pure bookkeeping; no Faust import.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from streams import metrics
from streams.core.events import ControlRecord, MiniProgramEvent
from streams.watermark import NEVER, PartitionWatermark, ReorderBuffer
from streams.wire import InternalRecord

# (account, event, produced_at, the record it came in: [message, events still waiting])
Item = tuple[bytes, Any, "float | None", "list[Any] | None"]


def event_time(event: Any) -> float:
    return event.occurred_at if type(event) is MiniProgramEvent else event.event_time


class Lane:
    def __init__(self) -> None:
        self.watermark = PartitionWatermark()
        self.buffer: ReorderBuffer[Item] = ReorderBuffer()
        self._records: deque[list[Any]] = deque()  # [message, events still waiting], offset order

    def admit(self, message: Any, record: InternalRecord) -> tuple[list[Item], list[ControlRecord]]:
        """Buffer the record's events and merge its marks; returns its late events (decide now)
        and its control records (in force at once: they say from which event time on)."""
        entry = [message, 0]
        self._records.append(entry)
        late: list[Item] = []
        controls: list[ControlRecord] = []
        buffer = self.buffer
        for account, event, produced_at in record.items:
            if type(event) is ControlRecord:
                controls.append(event)
                continue
            at = event_time(event)
            if buffer.is_late(at):
                late.append((account, event, produced_at, None))
            else:
                entry[1] += 1
                buffer.push(at, (account, event, produced_at, entry))
        self.watermark.update(record.marks, record.partitions)
        return late, controls

    def release(self) -> list[Item]:
        """The waiting events the watermark has passed, in event-time order."""
        released = self.buffer.release(self.watermark.value)
        for _, _, _, entry in released:
            if entry is not None:
                entry[1] -= 1
        return released

    def decided_messages(self) -> list[Any]:
        """Records all of whose events are decided, in offset order (stop at the first that waits)."""
        records, out = self._records, []
        while records and records[0][1] == 0:
            out.append(records.popleft()[0])
        return out


class Lanes:
    """The lanes of the internal partitions this worker decides."""

    def __init__(self) -> None:
        self._lanes: dict[int, Lane] = {}
        self._held_by: set[tuple[str, str]] = set()

    def of(self, partition: int) -> Lane:
        lane = self._lanes.get(partition)
        if lane is None:
            lane = self._lanes[partition] = Lane()
        return lane

    def clear(self) -> None:
        """A new assignment: what was not acknowledged is delivered again, marks included."""
        self._lanes.clear()

    def buffered(self) -> int:
        return sum(len(lane.buffer) for lane in self._lanes.values())

    def measure(self, now: float) -> None:
        metrics.REORDER_BUFFERED.set(self.buffered())
        if not self._lanes:
            return
        lane = min(self._lanes.values(), key=lambda lane: lane.watermark.value)
        value = lane.watermark.value
        # never reported: counted from the epoch, so the lag is huge and still grows (alertable)
        metrics.WATERMARK_LAG.set(now - value if value != NEVER else now)
        held = {(topic, partition) for topic, _, partition in
                 (name.rpartition(":") for name in lane.watermark.holding_back())}
        for gone in self._held_by - held:
            metrics.WATERMARK_HELD_BY.remove(*gone)
        for new in held - self._held_by:
            metrics.WATERMARK_HELD_BY.labels(*new).set(1)
        self._held_by = held
