"""The deciding agent's schedule: per internal partition, the accounts with a reminder deadline
and when each quiet account may be forgotten, so the watermark's passing never scans the table."""

from __future__ import annotations

import heapq
from collections.abc import Callable

from streams.core.state import SubjectState
from streams.wire import subject_partition


class PendingDeadlines:
    """Per internal partition, the accounts of this worker with a reminder deadline, and when
    each quiet account may be forgotten (``Detector.forget_at``), so that judging the
    deadlines and forgetting the accounts the watermark passed never scans the table."""

    def __init__(self, forget_at: Callable[[SubjectState], float | None] = lambda _state: None) -> None:
        self._deadline: dict[int, dict[bytes, float]] = {}
        self._forget_at = forget_at
        self._forget: dict[int, dict[bytes, float]] = {}
        # a heap per partition with at most one entry per account: an account that moved on
        # since its entry was queued is queued again at its new time when the entry comes up
        # (a forget time only grows with the account's clock), so the heap never holds more
        # entries than there are accounts, however many events they have
        self._forget_queue: dict[int, list[tuple[float, bytes]]] = {}
        self._queued: dict[int, set[bytes]] = {}

    def track(self, key: bytes, state: SubjectState | None, partition: int) -> None:
        case = state.case if state is not None else None
        if case is not None and case.deadline is not None:
            self._deadline.setdefault(partition, {})[key] = case.deadline
        else:
            self._deadline.get(partition, {}).pop(key, None)
        forget = self._forget_at(state) if state is not None else None
        if forget is None:
            self._forget.get(partition, {}).pop(key, None)
            return
        self._forget.setdefault(partition, {})[key] = forget
        queued = self._queued.setdefault(partition, set())
        if key not in queued:
            queued.add(key)
            heapq.heappush(self._forget_queue.setdefault(partition, []), (forget, key))

    def rebuild(self, items, partitions: int) -> None:
        self._deadline.clear()
        self._forget.clear()
        self._forget_queue.clear()
        self._queued.clear()
        for key, state in items:
            self.track(key, state, subject_partition(key, partitions))

    def due(self, partition: int, watermark: float) -> list[bytes]:
        """The accounts whose deadline the watermark has passed, earliest deadline first."""
        pending = self._deadline.get(partition)
        if not pending:
            return []
        return sorted((key for key, deadline in pending.items() if deadline <= watermark),
                      key=lambda key: (pending[key], key))

    def forgettable(self, partition: int, watermark: float) -> list[bytes]:
        """The accounts the watermark has passed the forget time of (no longer tracked)."""
        queue, current = self._forget_queue.get(partition), self._forget.get(partition, {})
        queued = self._queued.get(partition, set())
        out: list[bytes] = []
        while queue and queue[0][0] <= watermark:
            _, key = heapq.heappop(queue)
            forget = current.get(key)
            if forget is None:  # it holds a case now, or was forgotten: not queued any more
                queued.discard(key)
            elif forget <= watermark:
                queued.discard(key)
                del current[key]
                out.append(key)
            else:  # it moved on since: queued again at its new time
                heapq.heappush(queue, (forget, key))
        return out
