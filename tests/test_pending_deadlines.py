"""Per partition: reminder deadlines and when quiet accounts may be forgotten, without scans."""

from __future__ import annotations

import gc
import os

from streams.core.engine import Detector
from streams.core.policy import load_policy
from streams.deadlines import PendingDeadlines
from tests.fixtures import post

DAY = 86400.0


def greeted(partition: int):
    """A detector, the schedule, and one account that posted a greeting, tracked in ``partition``."""
    detector = Detector(load_policy())
    pending = PendingDeadlines(detector.forget_at)
    state, _ = detector.process(None, post("早安", at=1_000.0, account="gh_a"))
    pending.track(b"gh_a", state, partition)
    return detector, pending, state


def test_an_account_is_forgettable_once_the_watermark_passes_its_forget_time_and_not_before():
    detector, pending, state = greeted(3)
    forget_at = detector.forget_at(state)
    assert pending.forgettable(3, forget_at - 1) == []
    assert pending.forgettable(2, forget_at) == []  # another partition
    assert pending.forgettable(3, forget_at) == [b"gh_a"]
    assert pending.forgettable(3, forget_at * 2) == []  # handed out once


def test_an_account_that_moved_on_is_forgotten_at_its_new_time_only():
    detector, pending, first = greeted(0)
    old = detector.forget_at(first)
    later, _ = detector.process(first, post("午安", at=1_000.0 + DAY, account="gh_a"))
    pending.track(b"gh_a", later, 0)
    assert pending.forgettable(0, old) == []  # the stale entry is skipped
    assert pending.forgettable(0, detector.forget_at(later)) == [b"gh_a"]


def resident_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_memory_stays_flat_over_200k_quiet_accounts_once_their_window_has_passed():
    """200,000 accounts, each posting once, 30 s apart (about 70 days); each is forgotten when
    the watermark passes its forget time, as the deciding agent does."""
    detector = Detector(load_policy())
    pending = PendingDeadlines(detector.forget_at)
    table: dict[bytes, object] = {}
    horizon = detector._forget_after_s
    gc.collect()
    samples = []
    for i in range(200_000):
        at = 1_600_000_000.0 + 30.0 * i
        key = f"gh_{i:012x}".encode()
        state, _ = detector.process(None, post("今天天气很好，欢迎关注我们的公众号。", at=at, account=key.decode(),
                                               event_id=f"p{i}"))
        table[key] = state
        pending.track(key, state, 0)
        for gone in pending.forgettable(0, at):  # the watermark: this event's time
            if detector.forgettable(table[gone], at):
                del table[gone]
        if i % 50_000 == 49_999:
            samples.append((len(table), resident_bytes()))
    alive = horizon / 30.0  # accounts younger than the horizon
    assert all(abs(size - alive) <= 2 for size, _ in samples[1:]), samples
    # once the first accounts are past their window, the process grows no more (kept, the
    # 150,000 later states would add about 600 MB)
    first, last = samples[1][1], samples[-1][1]
    assert last - first <= 32 * 2**20, samples


def test_the_schedule_holds_one_entry_per_account_however_many_events_it_has():
    detector, pending, state = greeted(0)
    for hour in range(1, 500):  # an account that posts every hour for three weeks
        state, _ = detector.process(state, post("早安", at=1_000.0 + hour * 3600, account="gh_a", event_id=f"p{hour}"))
        pending.track(b"gh_a", state, 0)
    assert len(pending._forget_queue[0]) == 1
    assert pending.forgettable(0, detector.forget_at(state) - 1) == []  # requeued at its latest time
    assert len(pending._forget_queue[0]) == 1
    assert pending.forgettable(0, detector.forget_at(state)) == [b"gh_a"]
