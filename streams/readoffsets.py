"""Faust's read offsets made safe to rewind (faust-streaming 0.15.3; pinned by
tests/test_faust_characterisation.py).

Faust's fetch loop drops every message below the partition's *read offset* as already read,
and sets the read offset to each message it hands on — including the rest of a batch fetched
before a seek. A seek (ours, to re-fetch a gap, or Faust's own to the committed offsets after
a rebalance) was therefore undone by the tail of the old batch: the records fetched again
from the earlier position came back below the new read offset and were dropped, the gap
never filled, and the events those records carried were lost. This mapping replaces Faust's
``Consumer._read_offset``: after a rewind to offset N it keeps the read offset open until a
message at or below N arrives, so nothing fetched again is dropped; later messages of the old
batch still pass and are held or ignored by :class:`~streams.ordering.OffsetOrder`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import SupportsKeysAndGetItem


class RewindableReadOffsets(defaultdict):
    def __init__(self, existing: Mapping[Any, int | None] | None = None) -> None:
        super().__init__(lambda: None, existing or {})
        self._rewinding: dict[Any, int] = {}

    def rewind(self, tp: Any, offset: int) -> None:
        """The partition was sought to ``offset``: nothing from there on counts as read."""
        self._rewinding[tp] = offset
        dict.__setitem__(self, tp, None)

    def rewinding(self, tp: Any) -> int | None:
        return self._rewinding.get(tp)

    def __setitem__(self, tp: Any, offset: int | None) -> None:
        target = self._rewinding.get(tp)
        if target is not None and offset is not None:
            if offset > target:
                return  # a message fetched before the seek: it must not hide the re-fetched ones
            del self._rewinding[tp]  # the re-fetch has begun
        dict.__setitem__(self, tp, offset)

    def update(
        self, other: SupportsKeysAndGetItem[Any, int | None] | Iterable[tuple[Any, int | None]] = (), /, **kw: int | None
    ) -> None:
        """Faust's seek to the committed offsets after a rebalance: each one a rewind."""
        for tp, offset in dict(other, **kw).items():
            if offset is None:
                self._rewinding.pop(tp, None)
                dict.__setitem__(self, tp, None)
            else:
                self.rewind(tp, offset)

    def pop(self, tp: Any, *default: Any) -> Any:
        self._rewinding.pop(tp, None)
        return dict.pop(self, tp, *default)
