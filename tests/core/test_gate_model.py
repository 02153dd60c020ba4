"""The threshold shortcut against a plain reference: whenever ScoreGate.certainly_below says an
account has nothing to decide, exact scoring agrees, for any counters, window and policy."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.counters import BUCKET_S, SignalCounters
from streams.core.gate import EDITORIAL_POST, SIGNAL_POST, TEXT_CODES, WITHDRAWAL_REQUESTED_COUNT, ScoreGate
from streams.core.policy import Policy, Weight, load_policy
from streams.core.signals import FRAUD_CODES, TRADING_CODES, WINDOW, codes

POLICY = load_policy()
T = 1_650_000_000.0 // BUCKET_S * BUCKET_S
# what the engine counts: every signal but the one computed from the window, and its bookkeeping
CODES = tuple(c for c in TRADING_CODES + FRAUD_CODES if c not in codes(source=WINDOW)) + (
    EDITORIAL_POST, SIGNAL_POST, WITHDRAWAL_REQUESTED_COUNT)


def reference_scores(counters: SignalCounters, policy: Policy, start: float, end: float) -> tuple[float, float]:
    """Scores the slow, obvious way: every bucket of (start's hour, end's hour], every rule spelt out."""
    first, last = int(start // BUCKET_S), int(end // BUCKET_S)
    counts = {code: sum(n for b, n in per.items() if first < b <= last) for code, per in counters.buckets.items()}
    signal, editorial = counts.get(SIGNAL_POST, 0), counts.get(EDITORIAL_POST, 0)
    ignore_text = 0 < signal < policy.min_offer_posts or (editorial >= policy.editorial_min_posts and editorial >= signal)

    def total(weights: dict[str, Weight]) -> float:
        return sum(w.weight * min(counts.get(code, 0), w.cap) for code, w in weights.items()
                   if not (ignore_text and code in TEXT_CODES) and code != "withdrawal_failure_ratio")

    fraud = total(policy.fraud_weights)
    failures, requested = counts.get("withdrawal_failure", 0), counts.get(WITHDRAWAL_REQUESTED_COUNT, 0)
    share = failures / requested if requested else 1.0
    ratio_weight = policy.fraud_weights.get("withdrawal_failure_ratio")
    if ratio_weight is not None and failures and failures >= policy.withdrawal_min_failures and share >= policy.withdrawal_min_ratio:
        fraud += ratio_weight.weight
    return round(1 - math.exp(-total(policy.trading_weights)), 6), round(1 - math.exp(-fraud), 6)


weights = st.tuples(st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.25, 0.3, 0.45, 0.6, 1.0, 2.5]), st.integers(1, 12))
hits = st.lists(st.tuples(st.sampled_from(CODES), st.integers(1, 3), st.floats(0, 10 * 86400)), max_size=60)


@st.composite
def policies(draw) -> Policy:
    trading = {code: Weight(*draw(weights)) for code in TRADING_CODES}
    fraud = {code: Weight(*draw(weights)) for code in FRAUD_CODES}
    return replace(
        POLICY, trading_weights=trading, fraud_weights=fraud,
        trading_reminder_threshold=draw(st.floats(0.0, 1.0)), fraud_threshold=draw(st.floats(0.0, 1.0)),
        min_offer_posts=draw(st.integers(1, 3)), editorial_min_posts=draw(st.integers(1, 4)),
        withdrawal_min_failures=draw(st.integers(1, 4)), withdrawal_min_ratio=draw(st.floats(0.0, 1.0)),
    )


def counters_of(hit_list: list[tuple[str, int, float]], expire_at: float | None) -> SignalCounters:
    counters = SignalCounters()
    for code, count, offset in sorted(hit_list, key=lambda hit: hit[2]):
        counters.add(code, count, T + offset, (), 20)
    if expire_at is not None:
        counters.expire(T + expire_at)
    return counters


@settings(max_examples=300, deadline=None)
@given(policy=policies(), hit_list=hits, end=st.floats(0, 12 * 86400), window_h=st.integers(1, 24 * 8),
       late_start=st.one_of(st.none(), st.floats(0, 12 * 86400)), expire=st.booleans(), has_case=st.booleans(),
       near=st.tuples(*[st.one_of(st.none(), st.sampled_from([-1e-3, -1e-6, 0.0, 1e-7, 1e-6, 3e-6, 1e-3]))] * 2))
def test_certainly_below_never_hides_a_decision(policy, hit_list, end, window_h, late_start, expire, has_case, near):
    end = T + end
    start = end - window_h * 3600.0
    if late_start is not None:  # a window counting since a closed case
        start = max(start, T + late_start)
    counters = counters_of(hit_list, (start - T) if expire else None)
    trading, fraud = reference_scores(counters, policy, start, end)  # thresholds do not change scores
    # thresholds right at the scores, where a shortcut that is too generous shows
    if near[0] is not None:
        policy = replace(policy, trading_reminder_threshold=min(1.0, max(0.0, trading + near[0])))
    if near[1] is not None:
        policy = replace(policy, fraud_threshold=min(1.0, max(0.0, fraud + near[1])))
    gate = ScoreGate(policy)
    assert gate.score_values(counters, start, end) == (trading, fraud)
    if gate.certainly_below(counters, start, end, has_case):
        assert fraud < policy.fraud_threshold
        assert has_case or trading < policy.trading_reminder_threshold


def test_the_shortcut_answers_for_a_quiet_account_and_not_for_a_trading_one():
    """Not vacuous: the shortcut does decide the common case, and stands aside near a threshold."""
    gate = ScoreGate(POLICY)
    quiet = counters_of([("secondary_listing", 1, 0.0)], None)
    assert gate.certainly_below(quiet, T - 86400, T + 3600, has_case=False)
    busy = counters_of([("secondary_sale", 1, i * 600.0) for i in range(12)] + [("paid_transfer", 1, 60.0)] * 4, None)
    assert not gate.certainly_below(busy, T - 86400, T + 3 * 3600, has_case=False)
