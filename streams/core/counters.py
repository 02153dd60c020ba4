"""Event-time counters with bounded memory, and de-duplication of input event ids.

Counts are kept per signal code in hourly buckets keyed by event time, so a window can be
summed as of any moment (the deadline's own time, not just "now"), buckets older than the
window are freed, and the state of a quiet account stays a few hundred bytes. We keep our
own buckets instead of Faust windowed tables (which may never expire after a rebalance).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, insort
from typing import Any, Iterable, Mapping

BUCKET_S = 3600


def bucket_of(event_time: float) -> int:
    """The hourly bucket number that holds ``event_time``."""
    return int(event_time // BUCKET_S)


class SignalCounters:
    """Per-code hourly hit counts plus the latest evidence event ids per code."""

    __slots__ = ("buckets", "evidence", "_expired_below")

    def __init__(self) -> None:
        self.buckets: dict[str, dict[int, int]] = {}
        # code -> [[event_time, event_id], ...] oldest first, at most max_evidence
        self.evidence: dict[str, list[list[Any]]] = {}
        self._expired_below = -1  # not persisted: after a restore the first expiry runs in full

    def add(self, code: str, count: int, event_time: float, evidence: Iterable[str], max_evidence: int) -> None:
        per_code = self.buckets.setdefault(code, {})
        bucket = bucket_of(event_time)
        per_code[bucket] = per_code.get(bucket, 0) + count
        if not evidence:  # bookkeeping counts (requests, context) keep no evidence list
            return
        kept = self.evidence.setdefault(code, [])
        for event_id in evidence:
            if not any(pair[1] == event_id for pair in kept):
                if kept and kept[-1][0] > event_time:  # a late event: keep the list in time order
                    insort(kept, [event_time, event_id], key=lambda pair: pair[0])
                else:
                    kept.append([event_time, event_id])
        if len(kept) > max_evidence:
            del kept[: len(kept) - max_evidence]

    def count(self, code: str, start: float, end: float) -> int:
        """Hits of ``code`` in the buckets after the one holding ``start``, up to the one holding ``end``.

        Excluding the start bucket makes a window of N hours exactly N buckets, and makes
        "since the reminder" mean the hours after the reminder's hour.
        """
        per_code = self.buckets.get(code)
        if not per_code:
            return 0
        first, last = bucket_of(start), bucket_of(end)
        return sum(n for bucket, n in per_code.items() if first < bucket <= last)

    def evidence_ids(self, code: str, start: float, end: float, limit: int) -> list[str]:
        first, last = bucket_of(start), bucket_of(end)
        ids = [event_id for at, event_id in self.evidence.get(code, ()) if first < bucket_of(at) <= last]
        return ids[-limit:]

    def codes(self) -> list[str]:
        return [code for code, per_code in self.buckets.items() if per_code]

    def expire(self, older_than: float) -> None:
        """Free buckets and evidence that ended before ``older_than``.

        Runs once per hour of event time (nothing new can expire in between), so its cost
        is not paid per event.
        """
        oldest = bucket_of(older_than)
        if oldest <= self._expired_below:
            return
        self._expired_below = oldest
        for code in list(self.buckets):
            per_code = self.buckets[code]
            # buckets are created in (nearly) time order: drop from the front, then sweep
            # only if a late event left an old bucket behind a young one
            while per_code and next(iter(per_code)) < oldest:
                del per_code[next(iter(per_code))]
            if per_code and min(per_code) < oldest:
                for bucket in [b for b in per_code if b < oldest]:
                    del per_code[bucket]
            if not per_code:
                del self.buckets[code]
        start = oldest * BUCKET_S
        for code in list(self.evidence):
            kept = self.evidence[code]
            cut = bisect_left(kept, start, key=lambda pair: pair[0])
            if cut:
                del kept[:cut]
            if not kept:
                del self.evidence[code]

    def clear(self) -> None:
        self.buckets.clear()
        self.evidence.clear()
        self._expired_below = -1

    def to_dict(self) -> dict[str, Any]:
        return {
            "b": {code: [[b, n] for b, n in sorted(per_code.items())] for code, per_code in self.buckets.items()},
            "e": {code: list(pairs) for code, pairs in self.evidence.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SignalCounters":
        counters = cls()
        counters.buckets = {code: {int(b): int(n) for b, n in pairs} for code, pairs in data.get("b", {}).items()}
        counters.evidence = {code: [list(pair) for pair in pairs] for code, pairs in data.get("e", {}).items()}
        return counters


def event_fingerprint(event_id: str) -> int:
    """A stable 63-bit fingerprint of an event id (Python's hash() differs per process)."""
    digest = hashlib.blake2b(event_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class RecentEventIds:
    """The most recent input event ids of one account, bounded by count and by age."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}  # fingerprint -> event time, insertion ordered

    def check_and_add(self, event_id: str, event_time: float, max_ids: int) -> bool:
        """True if the id is new (and remember it); False for a redelivery."""
        fingerprint = event_fingerprint(event_id)
        if fingerprint in self.seen:
            return False
        self.seen[fingerprint] = event_time
        if len(self.seen) > max_ids:
            del self.seen[next(iter(self.seen))]
        return True

    def expire(self, older_than: float) -> None:
        """Forget ids older than ``older_than``, oldest arrivals first.

        Arrival order is event-time order up to late events, so stopping at the first id that
        is still young keeps this O(expired) per call; a late event is forgotten a little later.
        """
        seen = self.seen
        while seen:
            fingerprint = next(iter(seen))
            if seen[fingerprint] >= older_than:
                break
            del seen[fingerprint]

    def to_list(self) -> list[list[Any]]:
        return [[fp, at] for fp, at in self.seen.items()]

    @classmethod
    def from_list(cls, pairs: Iterable[Iterable[Any]]) -> "RecentEventIds":
        recent = cls()
        recent.seen = {int(fp): float(at) for fp, at in pairs}
        return recent
