"""Trading and fraud scores from weighted, saturating signal counts, with their reasons.

score = 1 - exp(-sum(weight * min(count, cap))): each signal adds evidence with diminishing
returns, no single noisy signal can run away (the cap), and a reviewer can recompute a score
from the reasons printed on the action.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


def scored_codes(policy: Policy) -> frozenset[str]:
    """The counter codes :func:`score` reads (its weights, and the failures for the ratio)."""
    return frozenset(policy.trading_weights) | frozenset(policy.fraud_weights) | {"withdrawal_failure"}


def saturating_score(reasons: tuple[Reason, ...]) -> float:
    total = sum(reason.weight * reason.count for reason in reasons)
    return round(1.0 - math.exp(-total), 6)


Term = tuple[str, float, int]  # (code, weight per hit, capped count)


def _terms(counts: Mapping[str, int], weights: Mapping[str, Weight], ignore: frozenset[str]) -> list[Term]:
    """The weighted codes with hits, in no particular order (callers sort them).

    Walks the codes the account holds (a few) rather than all weighted codes (about twenty).
    """
    terms = []
    for code, count in counts.items():
        weight = weights.get(code)
        if weight is None or code in ignore or count <= 0 or weight.weight <= 0:
            continue
        terms.append((code, weight.weight, min(count, weight.cap)))
    return terms


def _ratio_term(policy: Policy, withdrawal_ratio: tuple[int, float] | None) -> Term | None:
    ratio_weight = policy.fraud_weights.get("withdrawal_failure_ratio")
    if withdrawal_ratio is not None and ratio_weight is not None:
        failures, ratio = withdrawal_ratio
        if failures >= policy.withdrawal_min_failures and ratio >= policy.withdrawal_min_ratio:
            return ("withdrawal_failure_ratio", ratio_weight.weight, 1)
    return None


def score_values(
    counts: Mapping[str, int],
    policy: Policy,
    withdrawal_ratio: tuple[int, float] | None = None,
    ignore: frozenset[str] = frozenset(),
) -> tuple[float, float]:
    """(trading, fraud) exactly as :func:`score` computes them, without building reasons.

    The engine asks this on every event with a hit, and only needs the reasons (and their
    evidence ids) when a threshold is crossed. Same terms, summed in the same order (largest
    contribution first, then by code; a ``note`` adds 0.0), so the floats are identical.
    """
    fraud = _terms(counts, policy.fraud_weights, ignore)
    ratio = _ratio_term(policy, withdrawal_ratio)
    if ratio is not None:
        fraud.append(ratio)
    return _saturate(_terms(counts, policy.trading_weights, ignore)), _saturate(fraud)


def _rank(term: Term) -> tuple[float, str]:
    """Largest contribution first, then by code: the order reasons are listed (and summed) in."""
    return -(term[1] * term[2]), term[0]


def _saturate(terms: list[Term]) -> float:
    if len(terms) > 1:
        terms.sort(key=_rank)
    return round(1.0 - math.exp(-sum(weight * count for _, weight, count in terms)), 6)


def score(
    counters: SignalCounters,
    policy: Policy,
    start: float,
    end: float,
    withdrawal_ratio: tuple[int, float] | None = None,
    ignore: frozenset[str] = frozenset(),
    note: Reason | None = None,
    evidence: bool = True,
    counts: Mapping[str, int] | None = None,
) -> Scores:
    """Scores over the event-time range (start, end].

    ``withdrawal_ratio`` is (failed withdrawals, failed/requested) in the same window, or None;
    codes in ``ignore`` do not count; ``note`` (weight 0) is added to the trading reasons to
    explain why they do not. ``counts`` is ``counters.window_counts(start, end)`` if the caller
    has it already.
    """
    if counts is None:
        counts = counters.window_counts(start, end, scored_codes(policy))

    def reason(code: str, weight: float, count: int, evidence_code: str) -> Reason:
        ids = tuple(counters.evidence_ids(evidence_code, start, end, policy.max_evidence)) if evidence else ()
        return Reason(code, weight, count, ids)

    trading = [reason(*term, term[0]) for term in _terms(counts, policy.trading_weights, ignore)]
    fraud = [reason(*term, term[0]) for term in _terms(counts, policy.fraud_weights, ignore)]
    ratio = _ratio_term(policy, withdrawal_ratio)
    if ratio is not None:
        fraud.append(reason(*ratio, "withdrawal_failure"))
    # codes are distinct, so this order (and the float sum in saturating_score) does not
    # depend on the order the reasons were found in
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
