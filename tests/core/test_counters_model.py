"""SignalCounters against a plain reference model (the straightforward implementation it
replaced): the running totals, hour order and window shortcuts must never change a count,
an evidence list or the serialised form."""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.counters import BUCKET_S, SignalCounters, bucket_of

T = 1_650_000_000.0 // BUCKET_S * BUCKET_S
CODES = ("secondary_sale", "paid_transfer", "collectible_evidence", "middleman")


class Reference:
    """Every window sum walks the buckets; an expiry (once per hour) sweeps every bucket."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict[int, int]] = {}
        self.evidence: dict[str, list[list[Any]]] = {}
        self.expired_below = -1

    def add(self, code: str, count: int, event_time: float, evidence: list[str], max_evidence: int) -> None:
        per_code = self.buckets.setdefault(code, {})
        bucket = bucket_of(event_time)
        per_code[bucket] = per_code.get(bucket, 0) + count
        if not evidence:
            return
        kept = self.evidence.setdefault(code, [])
        for event_id in evidence:
            if not any(pair[1] == event_id for pair in kept):
                if kept and kept[-1][0] > event_time:
                    insort(kept, [event_time, event_id], key=lambda pair: pair[0])
                else:
                    kept.append([event_time, event_id])
        if len(kept) > max_evidence:
            del kept[: len(kept) - max_evidence]

    def count(self, code: str, start: float, end: float) -> int:
        first, last = bucket_of(start), bucket_of(end)
        return sum(n for bucket, n in self.buckets.get(code, {}).items() if first < bucket <= last)

    def expire(self, older_than: float) -> None:
        oldest = bucket_of(older_than)
        if oldest <= self.expired_below:  # nothing new can expire within the same hour
            return
        self.expired_below = oldest
        for code in list(self.buckets):
            per_code = self.buckets[code]
            for bucket in [b for b in per_code if b < oldest]:
                del per_code[bucket]
            if not per_code:
                del self.buckets[code]
        start = oldest * BUCKET_S
        for code in list(self.evidence):
            kept = self.evidence[code]
            del kept[: bisect_left(kept, start, key=lambda pair: pair[0])]
            if not kept:
                del self.evidence[code]

    def to_dict(self) -> dict[str, Any]:
        return {
            "b": {code: [[b, n] for b, n in sorted(per_code.items())] for code, per_code in self.buckets.items()},
            "e": {code: list(pairs) for code, pairs in self.evidence.items()},
        }


# one step: add (code, hour offset from the clock, ids) | expire (window hours) | restore | window
_add = st.tuples(st.just("add"), st.sampled_from(CODES), st.integers(-30, 3), st.integers(0, 3599),
                 st.lists(st.sampled_from([f"e{i}" for i in range(30)]), max_size=4))
_expire = st.tuples(st.just("expire"), st.integers(1, 24))
_restore = st.tuples(st.just("restore"))
_window = st.tuples(st.just("window"), st.integers(-40, 2), st.integers(-10, 2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_add, _add, _add, _expire, _restore, _window), max_size=80))
def test_counters_agree_with_the_reference_model(steps: list[tuple]) -> None:
    fast, model = SignalCounters(), Reference()
    clock = T
    for step in steps:
        if step[0] == "add":
            _, code, hours, seconds, ids = step
            at = clock + hours * BUCKET_S + seconds
            clock = max(clock, at)
            fast.add(code, 1, at, ids, 5)
            model.add(code, 1, at, ids, 5)
        elif step[0] == "expire":
            fast.expire(clock - step[1] * BUCKET_S)
            model.expire(clock - step[1] * BUCKET_S)
        elif step[0] == "restore":
            fast = SignalCounters.from_dict(fast.to_dict())
            model.expired_below = -1  # not persisted
        else:
            start, end = clock + step[1] * BUCKET_S, clock + step[2] * BUCKET_S
            expected = {code: model.count(code, start, end) for code in model.buckets}
            assert fast.window_counts(start, end, CODES) == expected
            assert {code: fast.count(code, start, end) for code in CODES} == {
                code: model.count(code, start, end) for code in CODES
            }
        assert fast.to_dict() == model.to_dict()
