"""The pipeline's clock: a watermark over every input partition, and the order it releases.

Decisions depend on event time, and a topic can lag another by days (a first deployment
reading retained topics from the earliest offset, a backfill, an upstream outage). So event
time advances only as far as *every* input has been read:

* Intake keeps, per input partition it owns, the **progress** consumed there (the largest
  event time read) and publishes a **mark** per partition with every record it writes to the
  internal topic (:class:`InputProgress`). A partition that is caught up (nothing more to read)
  moves its mark with the wall clock minus the allowed lateness — at once if what it last
  read was live (it reached Kafka within the allowed lateness of its event time, and was read
  within ``idle_s`` of it), otherwise only after it stayed idle for ``idle_s`` (a producer
  writing history must not be mistaken for a quiet one).
* Each internal partition's deciding side keeps the largest mark seen per input partition and
  takes the minimum over *all* partitions of *all* input topics (:class:`PartitionWatermark`);
  a partition never reported holds it back. Marks travel on the internal partition behind the
  events they cover (one producer, in order), so when the watermark passes a time, every event
  up to it from every input is already in that internal partition.
* Events wait in a :class:`ReorderBuffer` until the watermark passes them and are decided in
  event-time order (arrival order for ties) — the order ``tradewatch replay`` uses. An event
  that arrives at or below what was already released is **late**: decided at once, counted.

Pure bookkeeping; no Faust or Kafka import.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import count
from typing import Generic, TypeVar

NEVER = -math.inf
Item = TypeVar("Item")


def mark_name(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


@dataclass
class _Input:
    assigned_at: float
    progress: float = NEVER
    last_read_at: float | None = None  # wall clock of the last record read
    live: bool = False  # the last record reached Kafka within the allowed lateness of its event time
    caught_up: bool = False


class InputProgress:
    """Intake's side: event-time progress per input partition it owns, as marks to publish."""

    def __init__(self, lateness_s: float, idle_s: float) -> None:
        self.lateness_s = lateness_s
        self.idle_s = idle_s
        self._inputs: dict[tuple[str, int], _Input] = {}

    def assign(self, partitions: Iterable[tuple[str, int]], now: float) -> None:
        for tp in partitions:
            self._inputs.setdefault(tp, _Input(assigned_at=now))

    def revoke(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Another intake owns these now and reports them; the decider keeps what we said."""
        for tp in partitions:
            self._inputs.pop(tp, None)

    def read(self, tp: tuple[str, int], event_time: float, now: float, written_at: float | None = None) -> None:
        """A record of ``tp`` with this event time was read (its event is already sent or queued).

        ``written_at`` is the record's Kafka timestamp. Whether its producer is live is judged by
        when the record *reached Kafka*, not by when intake read it: under load intake reads a
        live record later than the allowed lateness, and taking that for history would hold the
        watermark until the partition stays idle. History is still recognised by being read
        longer after its event time than the idle threshold, whatever its timestamp says (a
        mirror keeps the original ones)."""
        state = self._inputs.get(tp)
        if state is None:
            state = self._inputs[tp] = _Input(assigned_at=now)
        if event_time > state.progress:
            state.progress = event_time
        state.last_read_at = now
        reached = now if written_at is None else min(written_at, now)
        state.live = (reached - event_time <= self.lateness_s
                      and now - event_time <= max(self.lateness_s, self.idle_s))

    def touched(self, tp: tuple[str, int], now: float) -> None:
        """A record of ``tp`` was read that carries no event time (an invalid one)."""
        state = self._inputs.get(tp)
        if state is not None:
            state.last_read_at = now

    def caught_up(self, tp: tuple[str, int], caught_up: bool) -> None:
        state = self._inputs.get(tp)
        if state is not None:
            state.caught_up = caught_up

    def marks(self, now: float) -> dict[str, float]:
        """Per owned partition, the event time up to which it has been read ("topic:partition")."""
        out: dict[str, float] = {}
        for (topic, partition), state in self._inputs.items():
            mark = state.progress
            if state.caught_up:
                quiet_since = state.last_read_at if state.last_read_at is not None else state.assigned_at
                if state.live or now - quiet_since >= self.idle_s:
                    mark = max(mark, now - self.lateness_s)
            if mark != NEVER:
                out[mark_name(topic, partition)] = mark
        return out


class PartitionWatermark:
    """One internal partition's watermark: the minimum over every input partition's mark."""

    def __init__(self) -> None:
        self._marks: dict[str, float] = {}
        self._partitions: dict[str, int] = {}
        self.value = NEVER

    def update(self, marks: Mapping[str, float], partitions: Mapping[str, int]) -> bool:
        """Merge one record's marks and partition counts; True if the watermark moved."""
        for name, mark in marks.items():
            if mark > self._marks.get(name, NEVER):
                self._marks[name] = mark
        for topic, number in partitions.items():
            if number > self._partitions.get(topic, 0):
                self._partitions[topic] = number
        lowest = self._lowest()[0]
        if lowest > self.value:
            self.value = lowest
            return True
        return False

    def holding_back(self) -> list[str]:
        """Every input partition whose mark is the watermark ("topic:partition"): when several
        share the lowest mark (idle partitions advance together), naming one of them would
        point an operator at an arbitrary partition."""
        if not self._partitions:
            return []
        lowest = self._lowest()[0]
        return [mark_name(topic, partition) for topic, number in self._partitions.items()
                for partition in range(number) if self._marks.get(mark_name(topic, partition), NEVER) == lowest]

    def _lowest(self) -> tuple[float, str | None]:
        if not self._partitions:
            return NEVER, None
        lowest, name_of = math.inf, None
        marks = self._marks
        for topic, number in self._partitions.items():
            for partition in range(number):
                name = mark_name(topic, partition)
                mark = marks.get(name, NEVER)
                if mark < lowest:
                    lowest, name_of = mark, name
        return lowest, name_of


class ReorderBuffer(Generic[Item]):
    """Events waiting for the watermark, released in event-time order (arrival order for ties)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Item]] = []
        self._arrivals = count()
        self.released_to = NEVER  # everything at or below this was released

    def __len__(self) -> int:
        return len(self._heap)

    def is_late(self, event_time: float) -> bool:
        return event_time <= self.released_to

    def push(self, event_time: float, item: Item) -> None:
        heapq.heappush(self._heap, (event_time, next(self._arrivals), item))

    def release(self, watermark: float) -> list[Item]:
        """The waiting events timed at or below ``watermark``, oldest first."""
        heap, out = self._heap, []
        while heap and heap[0][0] <= watermark:
            out.append(heapq.heappop(heap)[2])
        if watermark > self.released_to:
            self.released_to = watermark
        return out
