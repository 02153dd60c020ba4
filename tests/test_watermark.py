"""The pipeline watermark: how far every input has been read, and the order it releases events."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.watermark import NEVER, InputProgress, PartitionWatermark, ReorderBuffer

POSTS0, MP0 = ("posts.v1", 0), ("miniprogram.events.v1", 0)
DAY = 86400.0
NOW = 1_800_000_000.0


def progress(lateness: float = 1.0, idle: float = 30.0) -> InputProgress:
    tracker = InputProgress(lateness_s=lateness, idle_s=idle)
    tracker.assign([POSTS0, MP0], NOW)
    return tracker


def test_a_partition_reports_the_latest_event_time_read_there():
    tracker = progress()
    tracker.read(POSTS0, NOW - 3 * DAY, NOW)
    tracker.read(POSTS0, NOW - 5 * DAY, NOW)  # an older one does not move it back
    assert tracker.marks(NOW) == {"posts.v1:0": NOW - 3 * DAY}


def test_a_partition_never_read_and_not_caught_up_reports_nothing():
    assert progress().marks(NOW) == {}


def test_a_caught_up_partition_that_read_live_events_follows_the_wall_clock_at_once():
    tracker = progress(lateness=1.0)
    tracker.read(POSTS0, NOW - 0.5, NOW)
    tracker.caught_up(POSTS0, True)
    assert tracker.marks(NOW + 10)["posts.v1:0"] == NOW + 9


def test_a_caught_up_partition_that_read_history_holds_until_it_stays_idle():
    """A backfill paused between topics must not be mistaken for a quiet live producer."""
    tracker = progress(lateness=1.0, idle=30.0)
    tracker.read(POSTS0, NOW - 3 * DAY, NOW)
    tracker.caught_up(POSTS0, True)
    assert tracker.marks(NOW + 29)["posts.v1:0"] == NOW - 3 * DAY
    assert tracker.marks(NOW + 30)["posts.v1:0"] == NOW + 29


def test_a_live_record_intake_read_late_still_counts_as_live_by_when_it_reached_kafka():
    """Under load intake reads live records after the allowed lateness; that is not history."""
    tracker = progress(lateness=0.1, idle=30.0)
    tracker.read(POSTS0, NOW - 1.5, NOW, written_at=NOW - 1.48)
    tracker.caught_up(POSTS0, True)
    assert tracker.marks(NOW)["posts.v1:0"] == NOW - 0.1


def test_a_record_that_reached_kafka_late_is_history_whatever_intake_does():
    tracker = progress(lateness=0.1, idle=30.0)
    tracker.read(POSTS0, NOW - 1.5, NOW, written_at=NOW - 0.5)  # written a second after its event time
    tracker.caught_up(POSTS0, True)
    assert tracker.marks(NOW)["posts.v1:0"] == NOW - 1.5


def test_history_keeps_holding_though_its_timestamps_claim_it_is_live():
    """A mirror keeps the original timestamps: read days after its event time, it is history."""
    tracker = progress(lateness=1.0, idle=30.0)
    tracker.read(POSTS0, NOW - 3 * DAY, NOW, written_at=NOW - 3 * DAY)
    tracker.caught_up(POSTS0, True)
    assert tracker.marks(NOW + 29)["posts.v1:0"] == NOW - 3 * DAY


def test_an_empty_caught_up_partition_follows_the_wall_clock_once_idle_since_assignment():
    tracker = progress(lateness=2.0, idle=30.0)
    tracker.caught_up(MP0, True)
    assert "miniprogram.events.v1:0" not in tracker.marks(NOW + 29)
    assert tracker.marks(NOW + 30)["miniprogram.events.v1:0"] == NOW + 28


def test_a_revoked_partition_is_no_longer_reported():
    tracker = progress()
    tracker.read(POSTS0, NOW - DAY, NOW)
    tracker.revoke([POSTS0])
    assert tracker.marks(NOW) == {}


def test_the_watermark_is_held_back_by_every_input_partition_not_yet_reported():
    watermark = PartitionWatermark()
    counts = {"posts.v1": 2, "miniprogram.events.v1": 1}
    watermark.update({"posts.v1:0": 100.0, "posts.v1:1": 200.0}, counts)
    assert watermark.value == NEVER
    assert watermark.holding_back() == ["miniprogram.events.v1:0"]
    assert watermark.update({"miniprogram.events.v1:0": 150.0}, counts)
    assert watermark.value == 100.0 and watermark.holding_back() == ["posts.v1:0"]


def test_partitions_that_tie_at_the_watermark_are_all_named():
    """Idle partitions advance together: naming only the first would point at an arbitrary one."""
    watermark = PartitionWatermark()
    counts = {"posts.v1": 2, "miniprogram.events.v1": 1}
    watermark.update({"posts.v1:0": 300.0, "posts.v1:1": 200.0, "miniprogram.events.v1:0": 200.0}, counts)
    assert watermark.holding_back() == ["posts.v1:1", "miniprogram.events.v1:0"]


def test_the_watermark_never_moves_back_and_keeps_the_largest_mark_per_partition():
    """After a rebalance the new intake may report a partition lower than the old one did."""
    watermark = PartitionWatermark()
    counts = {"posts.v1": 1}
    watermark.update({"posts.v1:0": 500.0}, counts)
    assert not watermark.update({"posts.v1:0": 100.0}, counts)
    assert watermark.value == 500.0


def test_a_new_partition_of_an_input_topic_holds_the_watermark_until_reported():
    watermark = PartitionWatermark()
    watermark.update({"posts.v1:0": 500.0}, {"posts.v1": 1})
    watermark.update({"posts.v1:0": 600.0}, {"posts.v1": 2})
    assert watermark.value == 500.0 and watermark.holding_back() == ["posts.v1:1"]


def test_the_buffer_releases_in_event_time_order_with_arrival_order_for_ties():
    buffer: ReorderBuffer[str] = ReorderBuffer()
    for at, name in [(3.0, "c"), (1.0, "a"), (2.0, "b1"), (2.0, "b2"), (5.0, "e")]:
        buffer.push(at, name)
    assert buffer.release(2.0) == ["a", "b1", "b2"]
    assert buffer.is_late(2.0) and not buffer.is_late(2.5)
    assert buffer.release(4.0) == ["c"]
    assert len(buffer) == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 60)), min_size=1, max_size=60), st.randoms())
def test_whatever_the_arrival_order_and_watermark_steps_the_released_order_is_the_time_order(events, rnd):
    """Events of one account arriving in any order, with the watermark advancing in any steps,
    come out in the order of their times (stable for ties) — the order replay decides in."""
    arrivals = list(enumerate(events))  # (id, (time, arrival slot))
    rnd.shuffle(arrivals)
    buffer: ReorderBuffer[int] = ReorderBuffer()
    out: list[int] = []
    watermark = -1.0
    for ident, (at, _) in arrivals:
        assert not buffer.is_late(at) or at <= watermark
        if buffer.is_late(at):
            continue  # late: not part of the ordered guarantee
        buffer.push(float(at), ident)
        if rnd.random() < 0.3:
            watermark = max(watermark, float(at) - rnd.randint(0, 5))
            out += buffer.release(watermark)
    out += buffer.release(float("inf"))
    times = [events[ident][0] for ident in out]
    assert times == sorted(times)
    # ties keep their arrival order
    position = {ident: n for n, (ident, _) in enumerate(arrivals)}
    for first, second in zip(out, out[1:]):
        if events[first][0] == events[second][0]:
            assert position[first] < position[second]


def test_random_arrival_of_two_topics_is_decided_in_time_order_once_both_are_read():
    """The worst order: one topic in full before the other. Nothing is released until both
    partitions have reported, and then everything comes out in time order."""
    rnd = random.Random(7)
    posts = sorted(rnd.uniform(0, 10 * DAY) for _ in range(50))
    mini = sorted(rnd.uniform(0, 10 * DAY) for _ in range(50))
    watermark = PartitionWatermark()
    buffer: ReorderBuffer[float] = ReorderBuffer()
    counts = {"posts.v1": 1, "miniprogram.events.v1": 1}
    released: list[float] = []
    for at in posts:
        buffer.push(at, at)
        watermark.update({"posts.v1:0": at}, counts)
        released += buffer.release(watermark.value)
    assert released == []
    for at in mini:
        buffer.push(at, at)
        watermark.update({"miniprogram.events.v1:0": at}, counts)
        released += buffer.release(watermark.value)
    watermark.update({"posts.v1:0": NOW, "miniprogram.events.v1:0": NOW}, counts)
    released += buffer.release(watermark.value)
    assert released == sorted(posts + mini)
