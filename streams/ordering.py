"""Deciding each internal partition in offset order, whatever order Faust delivers it in.

After a rebalance, faust-streaming 0.15 can hand a stream messages fetched *ahead* of the
committed offset before the ones at it (faust#221, #236: a prefetched batch jumps the queue),
and its consumer then records the skipped range as a "gap" that it may commit past. For
tradewatch that would mean deciding an account's events out of order, and a crash in the
wrong moment could lose the skipped ones. So the deciding agent admits messages through
:class:`OffsetOrder`: a message at the expected offset is decided (with any held successors),
one ahead of it is held, unacknowledged, until the gap fills; one behind it was already
decided in this assignment and is only acknowledged. A gap that does not fill within
``max_wait_s`` is reported so the shell can seek the partition back and have it re-fetched; if
the same offsets are still missing after that, the range is reported again: the shell stops
the worker if they are still in the log (a restart reads them from the committed offset) and
gives them up only when retention deleted them, deciding the held messages. Pure bookkeeping;
no Faust import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass
class Admission(Generic[Item]):
    ready: list[Item] = field(default_factory=list)  # decide these, in this order
    stale: bool = False  # already decided in this assignment: acknowledge only
    held: bool = False  # ahead of a gap: wait for the missing offsets


@dataclass
class _Partition(Generic[Item]):
    expected: int
    held: dict[int, Item] = field(default_factory=dict)
    held_since: float | None = None
    sought: int | None = None  # the offset last sought back to


@dataclass(frozen=True)
class Overdue(Generic[Item]):
    partition: int
    expected: int  # the first offset not yet decided
    dropped: list[Item] = field(default_factory=list)  # seek back to ``expected``: these come again
    skipped_to: int | None = None  # gave up on expected..skipped_to-1 (they never came) ...
    released: list[Item] = field(default_factory=list)  # ... and these are to be decided now


class OffsetOrder(Generic[Item]):
    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self._partitions: dict[int, _Partition[Item]] = {}

    def reset(self) -> None:
        """A new assignment starts again at the committed offsets."""
        self._partitions.clear()

    def started(self, partition: int) -> bool:
        """Whether this assignment already knows where ``partition`` starts."""
        return partition in self._partitions

    def admit(self, partition: int, offset: int, item: Item, now: float,
              committed: Callable[[], int | None]) -> Admission[Item]:
        """``committed()`` is the partition's committed offset, asked once per assignment."""
        state = self._partitions.get(partition)
        if state is None:
            start = committed()
            state = self._partitions[partition] = _Partition(offset if start is None or start < 0 else start)
        if offset < state.expected or offset in state.held:
            return Admission(stale=True)
        if offset > state.expected:
            state.held[offset] = item
            if state.held_since is None:
                state.held_since = now
            return Admission(held=True)
        ready = [item]
        state.expected = offset + 1
        while state.expected in state.held:
            ready.append(state.held.pop(state.expected))
            state.expected += 1
        state.held_since = now if state.held else None
        return Admission(ready=ready)

    def overdue(self, now: float) -> list[Overdue[Item]]:
        """Partitions whose gap stayed open too long: seek back once, then give the gap up."""
        out = []
        for partition, state in self._partitions.items():
            if not state.held or state.held_since is None or now - state.held_since < self.max_wait_s:
                continue
            if state.sought != state.expected:
                dropped = [state.held[offset] for offset in sorted(state.held)]
                state.held.clear()
                state.held_since = None
                state.sought = state.expected
                out.append(Overdue(partition, state.expected, dropped=dropped))
                continue
            missing_from, first = state.expected, min(state.held)
            released = []
            state.expected = first
            while state.expected in state.held:
                released.append(state.held.pop(state.expected))
                state.expected += 1
            state.held_since = now if state.held else None
            out.append(Overdue(partition, missing_from, skipped_to=first, released=released))
        return out

    def held_count(self) -> int:
        return sum(len(state.held) for state in self._partitions.values())


class SkippedHeadWatch:
    """Spots a partition whose commit is stuck behind a message that was never delivered.

    Faust commits a partition up to its first unacknowledged offset. If it skips delivering
    the message at the committed offset (seen after a ``kill -9`` and a rebalance on a loaded
    machine) while later ones are acknowledged, the commit stops advancing for good. When the
    lowest acknowledged offset stays above the committed one for ``max_wait_s``, the shell
    seeks the partition back to the committed offset; what was already handled comes again
    and is recognised as a duplicate.
    """

    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self._since: dict[object, tuple[int, float]] = {}

    def stuck(self, partition: object, committed: int | None, lowest_acked: int | None, now: float) -> bool:
        if committed is None or lowest_acked is None or lowest_acked <= committed:
            self._since.pop(partition, None)
            return False
        seen = self._since.get(partition)
        if seen is None or seen[0] != committed:
            self._since[partition] = (committed, now)
            return False
        if now - seen[1] < self.max_wait_s:
            return False
        self._since[partition] = (committed, now)  # give the re-fetch time before asking again
        return True

    def reset(self) -> None:
        self._since.clear()
