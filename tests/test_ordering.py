"""Deciding in offset order whatever order the stream delivers (streams/ordering.py)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.ordering import OffsetOrder, SkippedHeadWatch


def committed_at(offset: int | None):
    return lambda: offset


def deliver(order: OffsetOrder, offsets: list[int], start: int | None, partition: int = 0, now: float = 0.0):
    decided, stale = [], []
    for offset in offsets:
        admission = order.admit(partition, offset, f"m{offset}", now, committed_at(start))
        decided += admission.ready
        if admission.stale:
            stale.append(offset)
    return decided, stale


def test_in_order_delivery_is_decided_as_it_comes() -> None:
    decided, stale = deliver(OffsetOrder(5), [26, 27, 28], start=26)
    assert decided == ["m26", "m27", "m28"] and stale == []


def test_a_batch_fetched_ahead_of_the_committed_offset_waits_for_the_gap() -> None:
    # what faust 0.15 did after a rebalance: offsets 39..45 delivered before 26..38
    order = OffsetOrder(5)
    decided, _ = deliver(order, list(range(39, 46)), start=26)
    assert decided == [] and order.held_count() == 7
    decided, _ = deliver(order, list(range(26, 39)), start=26)
    assert decided == [f"m{o}" for o in range(26, 46)] and order.held_count() == 0


def test_redelivered_offsets_are_only_acknowledged() -> None:
    decided, stale = deliver(OffsetOrder(5), [10, 11, 12, 11, 10, 13], start=10)
    assert decided == ["m10", "m11", "m12", "m13"] and stale == [11, 10]


def test_any_delivery_order_yields_every_offset_once_in_order() -> None:
    rng = random.Random(7)
    for _ in range(200):
        offsets = list(range(100, 140))
        rng.shuffle(offsets)
        offsets += rng.sample(offsets, 10)  # duplicates too
        decided, _ = deliver(OffsetOrder(5), offsets, start=100)
        assert decided == [f"m{o}" for o in range(100, 140)]


def test_partitions_are_independent() -> None:
    order = OffsetOrder(5)
    assert order.admit(0, 5, "a5", 0, committed_at(4)).held
    assert order.admit(1, 0, "b0", 0, committed_at(None)).ready == ["b0"]
    assert order.admit(0, 4, "a4", 0, committed_at(4)).ready == ["a4", "a5"]


def test_without_a_committed_offset_the_first_delivery_starts_the_partition() -> None:
    decided, _ = deliver(OffsetOrder(5), [7, 8], start=None)
    assert decided == ["m7", "m8"]


def test_a_gap_that_stays_open_is_reported_once_with_where_to_seek() -> None:
    order = OffsetOrder(max_wait_s=5)
    order.admit(0, 12, "m12", 100.0, committed_at(10))
    order.admit(0, 13, "m13", 101.0, committed_at(10))
    assert order.overdue(104.0) == []
    [overdue] = order.overdue(105.0)
    assert (overdue.partition, overdue.expected, overdue.dropped, overdue.released) == (0, 10, ["m12", "m13"], [])
    assert order.overdue(200.0) == [] and order.held_count() == 0
    # after the seek the partition is delivered again from 10
    decided, _ = deliver(order, [10, 11, 12, 13], start=10)
    assert decided == ["m10", "m11", "m12", "m13"]


def test_offsets_still_missing_after_the_seek_are_given_up_and_the_rest_decided() -> None:
    order = OffsetOrder(max_wait_s=5)
    order.admit(0, 12, "m12", 0.0, committed_at(10))
    [first] = order.overdue(5.0)
    assert first.dropped == ["m12"] and first.skipped_to is None
    # re-delivered after the seek, but 10 and 11 are gone for good
    for offset in (12, 13, 15):
        assert order.admit(0, offset, f"m{offset}", 6.0, committed_at(10)).held
    [second] = order.overdue(11.0)
    assert (second.expected, second.skipped_to, second.released) == (10, 12, ["m12", "m13"])
    assert order.held_count() == 1  # 15 still waits for 14
    assert order.admit(0, 14, "m14", 12.0, committed_at(10)).ready == ["m14", "m15"]


def test_reset_forgets_the_assignment() -> None:
    order = OffsetOrder(5)
    deliver(order, [3, 4], start=3)
    order.reset()
    assert order.admit(0, 3, "again", 0, committed_at(3)).ready == ["again"]


def test_a_commit_stuck_behind_a_missing_head_is_reported_after_the_wait() -> None:
    watch = SkippedHeadWatch(max_wait_s=10)
    assert not watch.stuck("p", committed=26, lowest_acked=39, now=0)
    assert not watch.stuck("p", committed=26, lowest_acked=45, now=9)
    assert watch.stuck("p", committed=26, lowest_acked=45, now=10)
    assert not watch.stuck("p", committed=26, lowest_acked=45, now=15)  # re-armed after the seek
    assert watch.stuck("p", committed=26, lowest_acked=45, now=20)


def test_a_commit_that_moves_or_has_no_hole_is_never_stuck() -> None:
    watch = SkippedHeadWatch(max_wait_s=10)
    for now, committed, lowest in [(0, 10, 12), (8, 20, 25), (16, 30, 33), (24, 40, 41)]:
        assert not watch.stuck("p", committed, lowest, now)  # advancing: a new hole each time
    for now in range(0, 100, 5):
        assert not watch.stuck("q", committed=50, lowest_acked=50, now=now)
        assert not watch.stuck("r", committed=50, lowest_acked=None, now=now)
        assert not watch.stuck("s", committed=None, lowest_acked=60, now=now)


def test_a_partition_is_started_once_per_assignment() -> None:
    order = OffsetOrder(5)
    assert not order.started(3)
    assert order.admit(3, 12, "m12", 0, committed_at(0)).held  # the broker says 0: 0..11 come first
    assert order.started(3)
    order.reset()
    assert not order.started(3)


@st.composite
def deliveries(draw):
    """A partition's offsets start..start+n-1 delivered in any order, with duplicates, some
    lost (never delivered), across any number of assignments (a reset between them)."""
    start = draw(st.integers(0, 1000))
    n = draw(st.integers(1, 40))
    offsets = list(range(start, start + n))
    lost = draw(st.sets(st.sampled_from(offsets), max_size=n // 3))
    delivered = [o for o in offsets if o not in lost]
    if delivered:
        delivered += draw(st.lists(st.sampled_from(delivered), max_size=10))  # redeliveries
    order = draw(st.permutations(delivered))
    resets = draw(st.sets(st.integers(0, max(0, len(order) - 1)), max_size=3))
    return start, lost, order, resets


@given(deliveries())
@settings(max_examples=300, deadline=None)
def test_what_is_decided_is_always_a_gapless_prefix_from_the_committed_start(case) -> None:
    """The commit (Faust's first run of acknowledged offsets) can only follow what this order
    releases: over any permutation, duplication or loss, the released offsets of an assignment
    are start, start+1, ... with no gap and no repeat, and nothing past a lost offset."""
    start, lost, delivered, resets = case
    order = OffsetOrder(max_wait_s=1e9)  # never give up: a lost offset holds everything after it
    committed = start
    decided_this_assignment: list[int] = []
    for index, offset in enumerate(delivered):
        if index in resets:  # a rebalance: the next assignment starts at what was committed
            order.reset()
            decided_this_assignment = []
        admission = order.admit(0, offset, offset, 0.0, lambda c=committed: c)
        for ready in admission.ready:
            expected = committed + len(decided_this_assignment) if not decided_this_assignment \
                else decided_this_assignment[-1] + 1
            assert ready == expected
            decided_this_assignment.append(ready)
        if decided_this_assignment:
            committed = max(committed, decided_this_assignment[-1] + 1)
    first_lost = min(lost) if lost else None
    assert first_lost is None or committed <= first_lost
