"""Trading and fraud scores from weighted, saturating signal counts, with their reasons.

score = 1 - exp(-sum(weight * min(count, cap))): each signal adds evidence with diminishing
returns, no single noisy signal can run away (the cap), and a reviewer can recompute a score
from the reasons printed on the action.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from streams.core.counters import SignalCounters
from streams.core.policy import Policy, Weight


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    weight: float
    count: int
    evidence: tuple[str, ...]

    @property
    def contribution(self) -> float:
        return self.weight * self.count

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "weight": self.weight, "count": self.count, "evidence": list(self.evidence)}


@dataclass(frozen=True, slots=True)
class Scores:
    trading: float
    fraud: float
    trading_reasons: tuple[Reason, ...]
    fraud_reasons: tuple[Reason, ...]


def saturating_score(reasons: tuple[Reason, ...]) -> float:
    total = sum(reason.weight * reason.count for reason in reasons)
    return round(1.0 - math.exp(-total), 6)


def _reasons(
    counters: SignalCounters, weights: Mapping[str, Weight], start: float, end: float, max_evidence: int,
    ignore: frozenset[str] = frozenset(), evidence: bool = True,
) -> list[Reason]:
    reasons = []
    for code, weight in weights.items():
        if code in ignore:
            continue
        count = counters.count(code, start, end)
        if count <= 0 or weight.weight <= 0:
            continue
        capped = min(count, weight.cap)
        ids = tuple(counters.evidence_ids(code, start, end, max_evidence)) if evidence else ()
        reasons.append(Reason(code, weight.weight, capped, ids))
    return reasons


def score(
    counters: SignalCounters,
    policy: Policy,
    start: float,
    end: float,
    withdrawal_ratio: tuple[int, float] | None = None,
    ignore: frozenset[str] = frozenset(),
    note: Reason | None = None,
    evidence: bool = True,
) -> Scores:
    """Scores over the event-time range (start, end].

    ``withdrawal_ratio`` is (failed withdrawals, failed/requested) in the same window, or None;
    codes in ``ignore`` do not count; ``note`` (weight 0) is added to the trading reasons to
    explain why they do not.
    """
    trading = _reasons(counters, policy.trading_weights, start, end, policy.max_evidence, ignore, evidence)
    fraud = _reasons(counters, policy.fraud_weights, start, end, policy.max_evidence, ignore, evidence)
    ratio_weight = policy.fraud_weights.get("withdrawal_failure_ratio")
    if withdrawal_ratio is not None and ratio_weight is not None:
        failures, ratio = withdrawal_ratio
        if failures >= policy.withdrawal_min_failures and ratio >= policy.withdrawal_min_ratio:
            ids = tuple(counters.evidence_ids("withdrawal_failure", start, end, policy.max_evidence)) if evidence else ()
            fraud.append(Reason("withdrawal_failure_ratio", ratio_weight.weight, 1, ids))
    trading.sort(key=lambda r: (-r.contribution, r.code))
    fraud.sort(key=lambda r: (-r.contribution, r.code))
    if note is not None:
        trading.append(note)
    return Scores(
        trading=saturating_score(tuple(trading)),
        fraud=saturating_score(tuple(fraud)),
        trading_reasons=tuple(trading),
        fraud_reasons=tuple(fraud),
    )
