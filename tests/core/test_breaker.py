"""The suspension-rate circuit breaker: trips per scope above the limit per minute, holds until an
operator closes the trip, and takes in the trips other workers share."""

from __future__ import annotations

import pytest

from streams.core.breaker import CLOSED, DISCARD, RELEASE, CircuitBreaker, Trip, scope_of

SCOPE = "2022.03-1/fraud_promise/low_history"


def suspension(code: str = "fraud_promise", evidence: int = 1, version: str = "2022.03-1", weight: float = 0.5,
               count: int = 1, others: tuple = ()) -> dict:
    reasons = [{"code": code, "weight": weight, "count": count, "evidence": [f"ev-{i}" for i in range(evidence)]}]
    reasons += list(others)
    return {"action": "suspend", "policy_version": version, "reasons": reasons}


def tripped(breaker: CircuitBreaker, scope: str = SCOPE, at: float = 0.0) -> Trip:
    for n in range(breaker.max_per_minute):
        assert breaker.record_suspension(scope, at + n * 0.1, "w1") is None
    trip = breaker.record_suspension(scope, at + 1, "w1")
    assert trip is not None
    breaker.apply(trip)
    return trip


def test_trips_on_the_first_suspension_over_the_limit_and_holds_until_closed():
    breaker = CircuitBreaker(max_per_minute=3)
    trip = tripped(breaker)
    assert trip.scope == SCOPE and trip.opened_by == "w1" and trip.suspensions == 4
    assert breaker.holding(SCOPE) == trip and breaker.open
    assert breaker.record_suspension(SCOPE, 10_000, "w1") is None  # time alone never closes it
    assert breaker.holding(SCOPE) == trip
    assert breaker.disposition(trip.trip_id) is None  # held actions wait


def test_other_scopes_are_not_held():
    breaker = CircuitBreaker(max_per_minute=3)
    tripped(breaker)
    assert breaker.holding("2022.03-1/fraud_promise/established") is None
    assert breaker.holding("2022.03-1/resale_price_markup/low_history") is None
    assert breaker.holding("2022.04-1/fraud_promise/low_history") is None


def test_closing_releases_or_discards_and_counting_starts_afresh():
    breaker = CircuitBreaker(max_per_minute=3)
    trip = tripped(breaker)
    [closed] = breaker.close(20.0, "alice from 127.0.0.1", RELEASE)
    assert closed.state == CLOSED and closed.closed_by == "alice from 127.0.0.1" and closed.trip_id == trip.trip_id
    assert breaker.holding(SCOPE) == trip, "a close is in force only once applied (after it is shared)"
    breaker.apply(closed)
    assert breaker.holding(SCOPE) is None and not breaker.open
    assert breaker.disposition(trip.trip_id) == RELEASE
    assert breaker.record_suspension(SCOPE, 21.0, "w1") is None  # the count before the trip is gone

    again = tripped(breaker, at=100.0)
    assert again.trip_id != trip.trip_id
    [discarded] = breaker.close(200.0, "bob", DISCARD)
    breaker.apply(discarded)
    assert breaker.disposition(again.trip_id) == DISCARD
    assert breaker.disposition(trip.trip_id) == RELEASE


def test_close_only_the_scopes_named():
    breaker = CircuitBreaker(max_per_minute=1)
    tripped(breaker, "v/a/low_history")
    tripped(breaker, "v/b/low_history")
    [closed] = breaker.close(5.0, "op", RELEASE, ["v/b/low_history", "v/unknown/low_history"])
    breaker.apply(closed)
    assert [trip.scope for trip in breaker.open_trips()] == ["v/a/low_history"]


def test_a_close_is_final_a_late_open_record_does_not_reopen_it():
    breaker = CircuitBreaker(max_per_minute=1)
    trip = tripped(breaker)
    [closed] = breaker.close(5.0, "op", RELEASE)
    breaker.apply(closed)
    assert breaker.apply(trip) is False
    assert breaker.holding(SCOPE) is None


def test_a_trip_another_worker_shared_holds_here_too():
    here = CircuitBreaker(max_per_minute=100)
    elsewhere = CircuitBreaker(max_per_minute=1)
    trip = tripped(elsewhere)
    assert here.apply(Trip.from_record(trip.to_record())) is True
    assert here.holding(SCOPE) == trip
    assert here.apply(trip) is False  # the same record again changes nothing


def test_two_workers_tripping_one_scope_at_once_are_both_closed_by_one_reset():
    """Each worker trips on its own count before it sees the other's trip; the actions each one
    held name its own trip, so a reset must close both or half of them would wait for good."""
    first, second = CircuitBreaker(max_per_minute=1), CircuitBreaker(max_per_minute=1)
    mine, theirs = tripped(first, at=0.0), tripped(second, at=0.5)
    assert mine.trip_id != theirs.trip_id
    first.apply(theirs)
    assert [trip.trip_id for trip in first.open_trips()] == [mine.trip_id, theirs.trip_id]
    assert first.open_scopes() == [SCOPE] and first.holding(SCOPE) == mine
    closes = first.close(10.0, "op", RELEASE)
    assert sorted(trip.trip_id for trip in closes) == sorted([mine.trip_id, theirs.trip_id])
    first.apply(closes[0])
    assert first.holding(SCOPE) is not None, "the scope holds until its last trip is closed"
    first.apply(closes[1])
    assert first.holding(SCOPE) is None and not first.open
    assert first.disposition(mine.trip_id) == first.disposition(theirs.trip_id) == RELEASE


def test_unknown_trips_wait():
    assert CircuitBreaker(max_per_minute=1).disposition("v/x/low_history@1") is None


def test_suspensions_spread_over_minutes_never_trip():
    breaker = CircuitBreaker(max_per_minute=3)
    assert not any(breaker.record_suspension(SCOPE, t * 21.0, "w1") for t in range(100))


def test_zero_disables():
    breaker = CircuitBreaker(max_per_minute=0)
    assert not any(breaker.record_suspension(SCOPE, 0.0, "w1") for _ in range(1000))


def test_an_unknown_disposition_is_refused():
    with pytest.raises(ValueError, match="disposition"):
        CircuitBreaker(max_per_minute=1).close(0.0, "op", "forget")


def test_the_scope_is_the_policy_version_the_strongest_signal_and_the_history():
    weak = {"code": "consignment_vocabulary", "weight": 0.2, "count": 1, "evidence": ["p1"]}
    assert scope_of(suspension(evidence=3, others=(weak,)), 8) == "2022.03-1/fraud_promise/low_history"
    # the strongest is by weight x count, not by order
    many = {"code": "resale_price_markup", "weight": 0.35, "count": 20, "evidence": [f"mp-{i}" for i in range(20)]}
    assert scope_of(suspension(evidence=1, others=(many,)), 8) == "2022.03-1/resale_price_markup/established"


def test_history_counts_distinct_evidence_events():
    repeated = {"code": "other", "weight": 0.1, "count": 1, "evidence": ["ev-0", "ev-1"]}  # the same events again
    assert scope_of(suspension(evidence=7, others=(repeated,)), 8).endswith("/low_history")
    assert scope_of(suspension(evidence=8), 8).endswith("/established")


@pytest.mark.parametrize("change", [
    lambda r: r.pop("scope"),
    lambda r: r.update(extra=1),
    lambda r: r.update(trip_id=""),
    lambda r: r.update(trip_id="x" * 257),
    lambda r: r.update(opened_at="yesterday"),
    lambda r: r.update(suspensions=1.5),
    lambda r: r.update(state="ajar"),
    lambda r: r.update(closed_by="mallory"),  # an open trip carries no close
    lambda r: r.update(state="closed", closed_at=1.0, closed_by="op", disposition="forget"),
    lambda r: r.update(state="closed", closed_at=None, closed_by="op", disposition="release"),
])
def test_a_record_that_is_not_a_trip_is_not_believed(change):
    breaker = CircuitBreaker(max_per_minute=1)
    record = tripped(breaker).to_record()
    assert Trip.from_record(dict(record)) is not None
    change(record)
    assert Trip.from_record(record) is None
