"""Event-time counters with bounded memory, and de-duplication of input event ids.

Counts are kept per signal code in hourly buckets keyed by event time, so a window can be
summed as of any moment (the deadline's own time, not just "now"), buckets older than the
window are freed, and the state of a quiet account stays a few hundred bytes. We keep our
own buckets instead of Faust windowed tables (which may never expire after a rebalance).
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping

BUCKET_S = 3600


def bucket_of(event_time: float) -> int:
    """The hourly bucket number that holds ``event_time``."""
    return int(event_time // BUCKET_S)


class SignalCounters:
    """Per-code hourly hit counts plus the latest evidence event ids per code."""

    __slots__ = ("buckets", "evidence")

    def __init__(self) -> None:
        self.buckets: dict[str, dict[int, int]] = {}
        # code -> [[event_time, event_id], ...] oldest first, at most max_evidence
        self.evidence: dict[str, list[list[Any]]] = {}

    def add(self, code: str, count: int, event_time: float, evidence: Iterable[str], max_evidence: int) -> None:
        per_code = self.buckets.setdefault(code, {})
        bucket = bucket_of(event_time)
        per_code[bucket] = per_code.get(bucket, 0) + count
        kept = self.evidence.setdefault(code, [])
        known = {event_id for _, event_id in kept}
        for event_id in evidence:
            if event_id not in known:
                kept.append([event_time, event_id])
                known.add(event_id)
        if len(kept) > max_evidence:
            kept.sort(key=lambda pair: pair[0])
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
        """Free buckets and evidence that ended before ``older_than``."""
        oldest = bucket_of(older_than)
        for code in list(self.buckets):
            per_code = self.buckets[code]
            for bucket in [b for b in per_code if b < oldest]:
                del per_code[bucket]
            if not per_code:
                del self.buckets[code]
        for code in list(self.evidence):
            kept = [pair for pair in self.evidence[code] if pair[0] >= oldest * BUCKET_S]
            if kept:
                self.evidence[code] = kept
            else:
                del self.evidence[code]

    def clear(self) -> None:
        self.buckets.clear()
        self.evidence.clear()

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
        stale = [fp for fp, at in self.seen.items() if at < older_than]
        for fingerprint in stale:
            del self.seen[fingerprint]

    def to_list(self) -> list[list[Any]]:
        return [[fp, at] for fp, at in self.seen.items()]

    @classmethod
    def from_list(cls, pairs: Iterable[Iterable[Any]]) -> "RecentEventIds":
        recent = cls()
        recent.seen = {int(fp): float(at) for fp, at in pairs}
        return recent
