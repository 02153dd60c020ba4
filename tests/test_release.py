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


@pytest.mark.parametrize("spoil", [
    lambda r: r.headers.clear(),  # no trip
    lambda r: setattr(r, "value", b"not json"),
    lambda r: setattr(r, "value", b'{"action": "suspend"}'),  # not an action
    lambda r: setattr(r, "key", b"someone-else"),  # keyed by another subject
])
def test_a_record_that_is_not_a_held_action_is_skipped_never_released(spoil):
    breaker, trip_id = breaker_with(RELEASE)
    record = held_record(trip_id)
    spoil(record)
    assert held_trip(record) is None
    assert settle(breaker, record) == (True, [])
