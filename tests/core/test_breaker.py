"""The suspension-rate circuit breaker: trips above the limit per minute, resets only by hand."""

from streams.core.breaker import CircuitBreaker


def test_trips_on_the_first_suspension_over_the_limit_and_stays_open():
    breaker = CircuitBreaker(max_per_minute=3)
    assert [breaker.record_suspension(t) for t in (0, 1, 2)] == [False, False, False]
    assert breaker.record_suspension(3) is True and breaker.open
    assert breaker.record_suspension(10_000) is False and breaker.open  # time alone never closes it
    breaker.reset()
    assert not breaker.open


def test_suspensions_spread_over_minutes_never_trip():
    breaker = CircuitBreaker(max_per_minute=3)
    assert not any(breaker.record_suspension(t * 21.0) for t in range(100))


def test_zero_disables():
    breaker = CircuitBreaker(max_per_minute=0)
    assert not any(breaker.record_suspension(0.0) for _ in range(1000))
