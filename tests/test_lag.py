"""A partition whose committed offset stands still while it has lag is reported as stalled (streams/lag.py)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from streams.lag import LagMeter


def meter() -> tuple[LagMeter, CollectorRegistry]:
    registry = CollectorRegistry()
    lag = Gauge("lag", "", ["topic", "partition"], registry=registry)
    stalled = Gauge("stalled", "", ["topic", "partition"], registry=registry)
    return LagMeter(lag, stalled), registry


def test_a_commit_that_stands_still_under_lag_counts_up_and_moving_resets_it():
    lags, registry = meter()
    assert lags.observe("t", 0, highwater=100, committed=40, now=0.0) == 0.0
    assert lags.observe("t", 0, highwater=120, committed=40, now=30.0) == 30.0
    assert lags.observe("t", 0, highwater=130, committed=40, now=75.0) == 75.0
    assert registry.get_sample_value("stalled", {"topic": "t", "partition": "0"}) == 75.0
    assert registry.get_sample_value("lag", {"topic": "t", "partition": "0"}) == 90.0
    assert lags.observe("t", 0, highwater=130, committed=41, now=80.0) == 0.0  # moved
    assert lags.observe("t", 0, highwater=130, committed=41, now=90.0) == 10.0


def test_a_caught_up_partition_is_never_stalled_however_long_it_is_quiet():
    lags, _ = meter()
    for now in (0.0, 100.0, 10_000.0):
        assert lags.observe("t", 1, highwater=50, committed=50, now=now) == 0.0


def test_revoked_partitions_lose_their_series():
    lags, registry = meter()
    lags.observe("t", 0, 10, 5, 0.0)
    lags.observe("t", 1, 10, 5, 0.0)
    lags.end_round()
    lags.observe("t", 1, 10, 5, 1.0)
    lags.end_round()
    assert registry.get_sample_value("lag", {"topic": "t", "partition": "0"}) is None
    assert registry.get_sample_value("lag", {"topic": "t", "partition": "1"}) == 5.0
