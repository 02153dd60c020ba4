"""What the releaser does with each held suspension: release it once its trip is closed for
release, pass it over once closed for discard, wait while the trip is open or unknown, and never
believe a record that is not a held action."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from aiokafka.errors import IllegalStateError

from streams.core.breaker import DISCARD, RELEASE, CircuitBreaker, Trip
from streams.release import Releaser, held_trip

EXAMPLE = Path(__file__).parents[1] / "streams/schemas/examples/enforcement.actions.v1/valid/suspend_mini_program_shadow.json"


@dataclass
class Record:
    value: bytes
    key: bytes
    headers: list = field(default_factory=list)
    topic: str = "tradewatch.held.v1"
    partition: int = 0
    offset: int = 7


def held_record(trip_id: str) -> Record:
    action = json.loads(EXAMPLE.read_text(encoding="utf-8")) | {"mode": "enforce"}
    return Record(orjson.dumps(action), action["subject"]["id"].encode(), [("tw-breaker-trip", trip_id.encode())])


def breaker_with(disposition: str | None) -> tuple[CircuitBreaker, str]:
    breaker = CircuitBreaker(max_per_minute=1)
    trip = Trip("v/x/low_history@1", "v/x/low_history", 1.0, "w1", 2)
    breaker.apply(trip)
    if disposition is not None:
        [closed] = breaker.close(2.0, "op", disposition)
        breaker.apply(closed)
    return breaker, trip.trip_id


def settle(breaker: CircuitBreaker, record: Record) -> tuple[bool, list]:
    released: list = []

    async def release(key, value, action):
        released.append((key, value, action))

    releaser = Releaser(None, breaker, lambda: 0, release)  # type: ignore[arg-type]
    done = asyncio.run(releaser.settle(record))
    return done, released


def test_a_suspension_whose_trip_was_closed_for_release_is_sent_unchanged():
    breaker, trip_id = breaker_with(RELEASE)
    record = held_record(trip_id)
    done, released = settle(breaker, record)
    assert done and released == [(record.key, record.value, "suspend")]


def test_one_closed_for_discard_is_passed_over():
    breaker, trip_id = breaker_with(DISCARD)
    assert settle(breaker, held_record(trip_id)) == (True, [])


@pytest.mark.parametrize("trip_id", ["v/x/low_history@1", "v/unknown/low_history@5"])
def test_one_whose_trip_is_open_or_unknown_waits(trip_id):
    breaker, _ = breaker_with(None)
    assert settle(breaker, held_record(trip_id)) == (False, [])


def follower_record(trip_id: str) -> Record:
    record = held_record(trip_id)
    record.headers = [("tw-breaker-follows", trip_id.encode())]
    return record


@pytest.mark.parametrize("disposition", [RELEASE, DISCARD])
def test_a_later_action_behind_a_held_one_is_released_once_its_trip_is_closed_either_way(disposition):
    """Whatever became of the suspension, what the account did afterwards (a reinstatement, a
    closed case) still happened and goes out, after it."""
    breaker, trip_id = breaker_with(disposition)
    record = follower_record(trip_id)
    assert settle(breaker, record) == (True, [(record.key, record.value, "suspend")])


def test_a_later_action_behind_an_open_trip_waits():
    breaker, trip_id = breaker_with(None)
    assert settle(breaker, follower_record(trip_id)) == (False, [])


@pytest.mark.parametrize("spoil", [
    lambda r: r.headers.clear(),  # no trip
    lambda r: setattr(r, "value", b"not json"),
    lambda r: setattr(r, "value", b'{"action": "suspend"}'),  # not an action
    lambda r: setattr(r, "key", b"someone-else"),  # keyed by another subject
    lambda r: r.headers.append(("tw-breaker-follows", b"v/x/low_history@1")),  # both held and following
])
def test_a_record_that_is_not_a_held_action_is_skipped_never_released(spoil):
    breaker, trip_id = breaker_with(RELEASE)
    record = held_record(trip_id)
    spoil(record)
    assert held_trip(record) is None
    assert settle(breaker, record) == (True, [])


class RevokingConsumer:
    """A consumer of one held partition that another reader takes over mid-batch."""

    def __init__(self, batches: list[dict]) -> None:
        self.batches = batches
        self.assigned: set = {("tradewatch.held.v1", 0)}
        self.listener = None
        self.committed: list = []

    def subscribe(self, topics, listener):
        self.listener = listener

    async def start(self):
        return None

    async def stop(self):
        return None

    def assignment(self):
        return set(self.assigned)

    def _assigned(self, tp):
        if tp not in self.assigned:
            raise IllegalStateError(f"No current assignment for partition {tp}")

    def seek(self, tp, offset):
        self._assigned(tp)

    def pause(self, tp):
        self._assigned(tp)

    def resume(self, *tps):
        for tp in tps:
            self._assigned(tp)

    async def revoke(self):
        self.assigned.clear()
        if self.listener is not None:
            await self.listener.on_partitions_revoked({("tradewatch.held.v1", 0)})

    async def getmany(self, timeout_ms):
        if not self.batches:
            raise asyncio.CancelledError  # the end of the scenario
        return self.batches.pop(0)

    async def commit(self, offsets):
        for tp in offsets:  # as aiokafka: the whole commit fails for one partition not assigned
            self._assigned(tp)
        self.committed.append(offsets)


def run_releaser(breaker: CircuitBreaker, consumer: RevokingConsumer, release, changes) -> None:
    releaser = Releaser(None, breaker, changes, release)  # type: ignore[arg-type]
    releaser.make_consumer = lambda: consumer  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(releaser.run())


def revoked_during_the_first_release(second_trip_open: bool) -> tuple[list, RevokingConsumer]:
    """Two held actions of one partition; the rebalance lands during the first one's release."""
    breaker, closed = breaker_with(RELEASE)
    second_trip = closed
    if second_trip_open:
        still_open = Trip("v/y/low_history@2", "v/y/low_history", 3.0, "w1", 2)
        breaker.apply(still_open)
        second_trip = still_open.trip_id
    first, second = held_record(closed), held_record(second_trip)
    second.offset = 8
    consumer = RevokingConsumer([{("tradewatch.held.v1", 0): [first, second]}])
    released: list = []

    async def release(key, value, action):
        released.append(action)
        await consumer.revoke()

    run_releaser(breaker, consumer, release, lambda: 0)
    return released, consumer


def test_a_partition_revoked_while_its_held_actions_are_released_does_not_stop_the_releaser():
    """The next action's trip is open, so the releaser would pause a partition it no longer has
    (IllegalStateError ended the worker)."""
    released, consumer = revoked_during_the_first_release(second_trip_open=True)
    assert released == ["suspend"]
    assert consumer.committed == []  # not ours to commit: the next reader starts at the last commit


def test_a_waiting_partition_given_to_another_reader_is_not_resumed():
    breaker, _ = breaker_with(None)
    tp = ("tradewatch.held.v1", 0)
    consumer = RevokingConsumer([{tp: [held_record("v/x/low_history@1")]}, {}])

    async def release(key, value, action):
        raise AssertionError("nothing is released while the trip is open")

    original = consumer.getmany

    async def getmany(timeout_ms):
        if len(consumer.batches) == 1:  # the partition waits now; the rebalance gives it away
            await consumer.revoke()
        return await original(timeout_ms)

    consumer.getmany = getmany  # type: ignore[method-assign]
    # the breaker record moves once the partition is gone: the releaser looks at its waiting ones again
    run_releaser(breaker, consumer, release, lambda: 0 if consumer.assigned else 1)


def test_a_partition_revoked_mid_batch_is_left_to_its_next_reader():
    """Its next reader starts at the last commit and releases the rest: going on here would only
    send them twice."""
    released, _ = revoked_during_the_first_release(second_trip_open=False)
    assert released == ["suspend"]


def test_a_revoked_partition_does_not_spoil_the_commit_of_the_ones_kept():
    """aiokafka refuses the whole commit when one partition in it is no longer assigned."""
    breaker, closed = breaker_with(RELEASE)
    kept, lost = ("tradewatch.held.v1", 1), ("tradewatch.held.v1", 0)
    first, second = held_record(closed), held_record(closed)
    second.partition = 1
    consumer = RevokingConsumer([{lost: [first], kept: [second]}])
    consumer.assigned = {lost, kept}

    async def release(key, value, action):
        consumer.assigned.discard(lost)

    run_releaser(breaker, consumer, release, lambda: 0)
    assert consumer.committed == [{kept: 8}]
