"""Event-time buckets and event-id memory: windows, expiry, bounds."""

from __future__ import annotations

from streams.core.counters import BUCKET_S, RecentEventIds, SignalCounters

T = 1_650_000_000.0 // BUCKET_S * BUCKET_S  # an hour boundary


def test_window_counts_only_buckets_inside_it():
    counters = SignalCounters()
    for hour in range(10):
        counters.add("secondary_sale", 1, T + hour * BUCKET_S + 5, [f"e{hour}"], 20)
    # (start, end]: the bucket holding start is excluded, the one holding end included
    assert counters.count("secondary_sale", T + 2 * BUCKET_S, T + 5 * BUCKET_S) == 3
    assert counters.count("secondary_sale", T - BUCKET_S, T + 100 * BUCKET_S) == 10
    assert counters.count("other", T, T + 100 * BUCKET_S) == 0
    assert counters.evidence_ids("secondary_sale", T + 2 * BUCKET_S, T + 5 * BUCKET_S, 20) == ["e3", "e4", "e5"]


def test_expiry_frees_old_buckets_and_evidence():
    counters = SignalCounters()
    for hour in range(200):
        counters.add("paid_transfer", 1, T + hour * BUCKET_S, [f"e{hour}"], 20)
    counters.expire(T + 190 * BUCKET_S)
    assert len(counters.buckets["paid_transfer"]) == 10
    assert all(at >= T + 190 * BUCKET_S for at, _ in counters.evidence["paid_transfer"])
    counters.expire(T + 1000 * BUCKET_S)
    assert counters.to_dict() == {"b": {}, "e": {}}


def test_evidence_is_capped_and_keeps_the_latest():
    counters = SignalCounters()
    for i in range(100):
        counters.add("secondary_listing", 1, T + i, [f"e{i}"], 20)
    assert len(counters.evidence["secondary_listing"]) == 20
    assert counters.evidence_ids("secondary_listing", T - BUCKET_S, T + BUCKET_S, 20)[-1] == "e99"


def test_round_trip():
    counters = SignalCounters()
    counters.add("middleman", 2, T, ["a", "b"], 20)
    restored = SignalCounters.from_dict(counters.to_dict())
    assert restored.count("middleman", T - 1, T + 1) == 2
    assert restored.evidence_ids("middleman", T - BUCKET_S, T, 20) == ["a", "b"]


def test_recent_ids_detect_redelivery_and_stay_bounded():
    recent = RecentEventIds()
    assert recent.check_and_add("e1", T, 16)
    assert not recent.check_and_add("e1", T, 16)
    for i in range(100):
        recent.check_and_add(f"x{i}", T + i, 16)
    assert len(recent.seen) == 16
    restored = RecentEventIds.from_list(recent.to_list())
    assert not restored.check_and_add("x99", T, 16)
    restored.expire(T + 1000)
    assert restored.seen == {}
