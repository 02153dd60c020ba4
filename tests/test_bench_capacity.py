"""The capacity ramp finds the highest rate a contender sustains, and says why a step failed."""

from __future__ import annotations

import asyncio

from bench.capacity import Ladder, ramp, why_not_sustained
from bench.latency import LatencyResult


def step(rate: float, latencies: list[float], complete: bool = True) -> LatencyResult:
    return LatencyResult(offered_eps=rate, sent=len(latencies), send_seconds=1.0, latencies_s=latencies, complete=complete)


def contender(limit_eps: float):
    """Fast up to ``limit_eps``; above it a backlog that grows through the step."""
    offered: list[float] = []

    async def measure(rate: float) -> LatencyResult:
        offered.append(rate)
        if rate <= limit_eps:
            return step(rate, [0.05] * 100)
        return step(rate, [0.05 + i * 0.02 for i in range(100)])

    return measure, offered


def test_the_ramp_stops_at_the_first_unsustained_step_and_narrows_once():
    measure, offered = contender(limit_eps=500)
    result = asyncio.run(ramp(Ladder(100, 2, 10), measure, lambda text: None))
    assert offered == [100, 200, 400, 800, (400 * 800) ** 0.5]  # 566 is not sustained either
    assert result.capacity_eps == 400
    assert not result.lower_bound_only


def test_a_sustained_narrowing_step_is_the_capacity():
    measure, offered = contender(limit_eps=600)
    result = asyncio.run(ramp(Ladder(100, 2, 10), measure, lambda text: None))
    assert result.capacity_eps == offered[-1] == (400 * 800) ** 0.5


def test_a_contender_that_fails_the_first_step_has_no_capacity():
    measure, offered = contender(limit_eps=50)
    result = asyncio.run(ramp(Ladder(100, 2, 10), measure, lambda text: None))
    assert (offered, result.capacity_eps, result.at_capacity) == ([100], 0.0, None)


def test_a_contender_that_takes_the_whole_ladder_is_only_a_lower_bound():
    measure, offered = contender(limit_eps=10_000)
    result = asyncio.run(ramp(Ladder(100, 2, 3), measure, lambda text: None))
    assert (offered, result.capacity_eps, result.lower_bound_only) == ([100, 200, 400], 400, True)


def test_a_slow_tail_a_growing_backlog_or_missing_outputs_each_fail_a_step():
    assert why_not_sustained(step(1, [0.05] * 98 + [0.3, 0.3])) is not None  # p99 above 0.25 s
    assert "backlog" in why_not_sustained(step(1, [0.03] * 50 + [0.15] * 50))
    assert "timeout" in why_not_sustained(step(1, [0.05] * 100, complete=False))
    assert why_not_sustained(step(1, [])) == "no output matched to a send"
    # medians of a few milliseconds jitter: 10 ms -> 25 ms is no backlog
    assert why_not_sustained(step(1, [0.01] * 50 + [0.025] * 50)) is None
