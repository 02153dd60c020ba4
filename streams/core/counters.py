"""Event-time counters with bounded memory, and de-duplication of input event ids.

Counts are kept per signal code in hourly buckets keyed by event time, so a window can be
summed as of any moment (the deadline's own time, not just "now"), buckets older than the
window are freed, and the state of a quiet account stays a few hundred bytes. We keep our
own buckets instead of Faust windowed tables (which may never expire after a rebalance).
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_left, insort
from collections.abc import Container, Iterable, Mapping
from operator import itemgetter
from typing import Any

BUCKET_S = 3600
_EVENT_ID = itemgetter(1)  # of an evidence pair [event_time, event_id]


def bucket_of(event_time: float) -> int:
    """The hourly bucket number that holds ``event_time``."""
    return int(event_time // BUCKET_S)


class SignalCounters:
    """Per-code hourly hit counts plus the latest evidence event ids per code.

    Scoring reads a window on every event with a hit, so the common window ("the last N
    hours as of the clock") is answered from a running total per code instead of a walk
    over a week of hourly buckets; each code's buckets are kept in hour order so expiry
    only ever drops from the front.
    """

    __slots__ = ("buckets", "evidence", "_expired_below", "_floor", "_ceiling", "_totals", "_ids", "_evidence_floor")

    def __init__(self) -> None:
        self.buckets: dict[str, dict[int, int]] = {}
        # code -> [[event_time, event_id], ...] oldest first, at most max_evidence
        self.evidence: dict[str, list[list[Any]]] = {}
        self._expired_below = -1  # not persisted: after a restore the first expiry runs in full
        # Bounds on every bucket number held (not persisted; recomputed on restore). When the
        # whole range lies in a window, its sum needs no per-bucket test (see _window_sum).
        self._floor: float = math.inf
        self._ceiling: float = -math.inf
        self._totals: dict[str, int] = {}  # code -> sum of its buckets (not persisted either)
        # code -> the ids in evidence[code], built on first use: de-duplicating a new id then
        # costs one hash probe instead of visiting 20 pairs scattered over memory
        self._ids: dict[str, set[str]] = {}
        # No evidence pair is older than this (not persisted): 20 ids per code often span
        # days, so most hourly expiries need not look at the lists at all.
        self._evidence_floor: float = math.inf

    def add(self, code: str, count: int, event_time: float, evidence: Iterable[str], max_evidence: int) -> None:
        bucket = int(event_time // BUCKET_S)  # bucket_of, inlined: this runs several times per event
        per_code = self.buckets.get(code)
        held = None if per_code is None else per_code.get(bucket)
        if held is not None:  # the usual case: an hour already held, so floor and ceiling hold too
            per_code[bucket] = held + count  # type: ignore[index]
            self._totals[code] += count
        else:
            self._add_hour(code, per_code, bucket, count)
        if not evidence:  # bookkeeping counts (requests, context) keep no evidence list
            return
        kept = self.evidence.get(code)
        if kept is None:
            kept = self.evidence[code] = []
        known = self._ids.get(code)
        if known is None:
            known = self._ids[code] = set(map(_EVENT_ID, kept))
        for event_id in evidence:
            if event_id not in known:
                known.add(event_id)
                if event_time < self._evidence_floor:
                    self._evidence_floor = event_time
                if kept and kept[-1][0] > event_time:  # a late event: keep the list in time order
                    insort(kept, [event_time, event_id], key=lambda pair: pair[0])
                else:
                    kept.append([event_time, event_id])
        while len(kept) > max_evidence:  # usually one: the list was full
            known.discard(kept.pop(0)[1])

    def _add_hour(self, code: str, per_code: dict[int, int] | None, bucket: int, count: int) -> None:
        """:meth:`add` of the first hit of ``code`` in the hour ``bucket``."""
        if per_code is None:
            self.buckets[code] = {bucket: count}
        elif per_code and bucket < next(reversed(per_code)):
            # a late event opened an earlier hour: keep the hours in order (expiry relies on it)
            per_code[bucket] = count
            self.buckets[code] = dict(sorted(per_code.items()))
        else:
            per_code[bucket] = count
        totals = self._totals
        totals[code] = totals.get(code, 0) + count
        if bucket < self._floor:
            self._floor = bucket
        if bucket > self._ceiling:
            self._ceiling = bucket

    def count(self, code: str, start: float, end: float) -> int:
        """Hits of ``code`` in the buckets after the one holding ``start``, up to the one holding ``end``.

        Excluding the start bucket makes a window of N hours exactly N buckets, and makes
        "since the reminder" mean the hours after the reminder's hour.
        """
        per_code = self.buckets.get(code)
        if not per_code:
            return 0
        return self._window_sum(code, per_code, bucket_of(start), bucket_of(end))

    def window_counts(self, start: float, end: float, codes: Container[str]) -> dict[str, int]:
        """:meth:`count` of each of ``codes`` that the counters hold (absent codes count 0).

        Scoring asks for about twenty codes per event while an account holds only a few, so
        one pass over the codes present is much cheaper than one :meth:`count` per code.
        """
        first, last = bucket_of(start), bucket_of(end)
        if self._floor >= first and self._ceiling <= last:  # see _window_sum
            totals = self._totals
            return {
                code: totals[code] - per_code.get(first, 0)
                for code, per_code in self.buckets.items()
                if code in codes
            }
        if self._ceiling <= last and self._ceiling - first < first - self._floor:
            # a window that starts late (e.g. since a case was closed): walk each code's
            # hours back from the newest, as far as the start; they are in hour order
            counts = {}
            for code, per_code in self.buckets.items():
                if code in codes:
                    n = 0
                    for bucket in reversed(per_code):
                        if bucket <= first:
                            break
                        n += per_code[bucket]
                    counts[code] = n
            return counts
        return {
            code: sum(n for bucket, n in per_code.items() if first < bucket <= last)
            for code, per_code in self.buckets.items()
            if code in codes
        }

    def totals_within(self, first: int, last: int) -> dict[str, int] | None:
        """Per code, the sum of all its buckets, when every bucket held lies in [first, last];
        else None. Then a code's count in the window (first, last] is its total minus its
        ``first`` bucket, read in place: the usual window, since expiry has freed the rest.
        The mapping is the counters' own: read it, never change it."""
        if self._floor >= first and self._ceiling <= last:
            return self._totals
        return None

    def _window_sum(self, code: str, per_code: dict[int, int], first: int, last: int) -> int:
        """Sum of the buckets of ``code`` in (first, last].

        The usual window is "the last N hours as of the clock", and expiry has already freed
        everything before it: then the answer is the running total minus the start bucket,
        with no per-bucket work (an active account holds a week of hourly buckets per code).
        """
        if self._floor >= first and self._ceiling <= last:
            return self._totals[code] - per_code.get(first, 0)
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
        if self._floor >= oldest:  # no bucket is old enough
            self._expire_evidence(oldest)
            return
        self._floor = oldest if self.buckets else math.inf
        totals = self._totals
        for code in list(self.buckets):
            per_code = self.buckets[code]
            while per_code and next(iter(per_code)) < oldest:  # hours are in order: oldest first
                totals[code] -= per_code.pop(next(iter(per_code)))
            if not per_code:
                del self.buckets[code]
                del totals[code]
        if not self.buckets:
            self._floor, self._ceiling = math.inf, -math.inf
        self._expire_evidence(oldest)

    def _expire_evidence(self, oldest: int) -> None:
        start = oldest * BUCKET_S
        if self._evidence_floor >= start:
            return  # nothing is that old
        floor = math.inf
        for code in list(self.evidence):
            kept = self.evidence[code]
            if kept and kept[0][0] < start:  # time-ordered: else nothing to cut, skip the search
                self._drop_evidence(code, bisect_left(kept, start, key=lambda pair: pair[0]))
            if kept:
                floor = min(floor, kept[0][0])
            else:
                del self.evidence[code]
                self._ids.pop(code, None)
        self._evidence_floor = floor

    def _drop_evidence(self, code: str, oldest: int) -> None:
        """Forget the ``oldest`` evidence pairs of ``code`` (ids are unique within a code)."""
        kept = self.evidence[code]
        known = self._ids.get(code)
        if known is not None:
            known.difference_update(map(_EVENT_ID, kept[:oldest]))
        del kept[:oldest]

    def clear(self) -> None:
        self.buckets.clear()
        self.evidence.clear()
        self._ids.clear()
        self._evidence_floor = math.inf
        self._expired_below = -1
        self._floor, self._ceiling = math.inf, -math.inf
        self._totals.clear()

    def to_dict(self) -> dict[str, Any]:
        return {
            "b": {code: [[b, n] for b, n in sorted(per_code.items())] for code, per_code in self.buckets.items()},
            "e": {code: list(pairs) for code, pairs in self.evidence.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignalCounters:
        counters = cls()
        counters.buckets = {
            code: dict(sorted({int(b): int(n) for b, n in pairs}.items())) for code, pairs in data.get("b", {}).items()
        }
        counters.evidence = {code: [list(pair) for pair in pairs] for code, pairs in data.get("e", {}).items()}
        # the floors stay unknown until the first (full) expiry; the ceiling is the newest bucket
        counters._floor = counters._evidence_floor = -math.inf
        counters._totals = {code: sum(per_code.values()) for code, per_code in counters.buckets.items()}
        counters._ceiling = max((max(per_code) for per_code in counters.buckets.values() if per_code), default=-math.inf)
        return counters


def event_fingerprint(event_id: str, _blake2b: Any = hashlib.blake2b, _from_bytes: Any = int.from_bytes) -> int:
    """A stable 63-bit fingerprint of an event id (Python's hash() differs per process)."""
    if event_id.isascii():  # the usual id: the same bytes as the general encoding, sooner
        raw = event_id.encode()
    else:
        raw = event_id.encode("utf-8", "surrogatepass")
    return _from_bytes(_blake2b(raw, digest_size=8).digest(), "big") >> 1


class RecentEventIds:
    """The most recent input event ids of one account, bounded by count and by age."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}  # fingerprint -> event time, insertion ordered

    def check_and_add(self, event_id: str, event_time: float, max_ids: int) -> bool:
        """True if the id is new (and remember it); False for a redelivery."""
        fingerprint = event_fingerprint(event_id)
        seen = self.seen
        if fingerprint in seen:
            return False
        seen[fingerprint] = event_time
        if len(seen) > max_ids:
            del seen[next(iter(seen))]
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
    def from_list(cls, pairs: Iterable[Iterable[Any]]) -> RecentEventIds:
        recent = cls()
        recent.seen = {int(fp): float(at) for fp, at in pairs}
        return recent
