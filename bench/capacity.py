"""Capacity: the highest offered rate a contender sustains, found by a stepped ramp.

A drain of a backlog is the most favourable case for batching, so its rate is the wrong number
to size a deployment by. The ramp offers steady traffic (the latency phase's mix, fresh
accounts in every step) at rates rising by a constant factor, each for a fixed time, and stops
at the first step the contender does not sustain; one step between the last sustained rate
and that one then narrows the answer. A step is **sustained** when

* every input was handled and every output arrived before the step's timeout,
* the p99 event-to-output latency is at most the bar (0.25 s), and
* there is no growing backlog: the median latency of the step's last third of sends is at most
  ``1 + BACKLOG_TOLERANCE`` times that of its first third, plus ``BACKLOG_SLACK_S`` (medians
  of a few tens of milliseconds jitter by more than any ratio).

Both contenders climb the same ladder of rates, so ``capacity_vs_faust`` compares like with like.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.latency import LatencyResult

P99_BAR_S = 0.25
BACKLOG_TOLERANCE = 0.5
BACKLOG_SLACK_S = 0.02


@dataclass(frozen=True)
class Ladder:
    start_eps: float
    factor: float
    steps: int  # at most this many rising steps, then one narrowing step

    def rates(self) -> list[float]:
        return [self.start_eps * self.factor**k for k in range(self.steps)]


def why_not_sustained(step: LatencyResult, p99_bar_s: float = P99_BAR_S) -> str | None:
    """None if the step was sustained, else the reason (for the report)."""
    if not step.complete:
        return "not every input handled and output arrived before the step's timeout"
    p99 = step.quantile(0.99)
    if p99 is None:
        return "no output matched to a send"
    if p99 > p99_bar_s:
        return f"p99 {p99 * 1000:.0f} ms > {p99_bar_s * 1000:.0f} ms"
    first, last = step.trend()
    if first is not None and last is not None and last > first * (1 + BACKLOG_TOLERANCE) + BACKLOG_SLACK_S:
        return f"backlog growing: median {first * 1000:.0f} ms in the first third, {last * 1000:.0f} ms in the last"
    return None


@dataclass
class RampResult:
    steps: list[tuple[LatencyResult, str | None]] = field(default_factory=list)  # (step, why not sustained)

    @property
    def at_capacity(self) -> LatencyResult | None:
        """The sustained step with the highest rate (None if the first step already failed)."""
        sustained = [step for step, why in self.steps if why is None]
        return max(sustained, key=lambda step: step.offered_eps) if sustained else None

    @property
    def capacity_eps(self) -> float:
        best = self.at_capacity
        return best.offered_eps if best else 0.0

    @property
    def lower_bound_only(self) -> bool:
        """Every step was sustained: the contender can take more than the ladder offered."""
        return bool(self.steps) and all(why is None for _, why in self.steps)

    def report(self) -> list[dict[str, Any]]:
        return [step_report(step, why) for step, why in self.steps]


def step_report(step: LatencyResult, why: str | None) -> dict[str, Any]:
    first, last = step.trend()
    return {
        "offered_eps": round(step.offered_eps, 1), "sent": step.sent, "send_seconds": round(step.send_seconds, 2),
        "samples": len(step.latencies_s), "complete": step.complete,
        "p50_s": step.quantile(0.5), "p99_s": step.quantile(0.99),
        "max_s": max(step.latencies_s) if step.latencies_s else None,
        "p50_first_third_s": first, "p50_last_third_s": last,
        "sustained": why is None, "why_not": why,
    }


async def ramp(ladder: Ladder, measure: Callable[[float], Awaitable[LatencyResult]],
               say: Callable[[str], None] = print, name: str = "") -> RampResult:
    """Climb ``ladder`` with ``measure(rate)`` until a step is not sustained, then narrow once."""
    result = RampResult()
    failed_at = None
    for rate in ladder.rates():
        why = await _step(result, measure, rate, say, name)
        if why is not None:
            failed_at = rate
            break
    if failed_at is not None:
        below = result.capacity_eps
        if below > 0:  # one step between the last sustained rate and the first that was not
            await _step(result, measure, math.sqrt(below * failed_at), say, name)
    return result


async def _step(result: RampResult, measure: Callable[[float], Awaitable[LatencyResult]], rate: float,
                say: Callable[[str], None], name: str) -> str | None:
    step = await measure(rate)
    why = why_not_sustained(step)
    result.steps.append((step, why))
    p99 = step.quantile(0.99)
    say(f"bench: {name} ramp {rate:,.0f} ev/s: p99 {'-' if p99 is None else f'{p99 * 1000:.0f} ms'}, "
        + ("sustained" if why is None else f"not sustained ({why})"))
    return why
