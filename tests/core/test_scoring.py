"""score_values (the engine's per-event check) must give exactly score()'s floats."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.counters import BUCKET_S, SignalCounters
from streams.core.gate import EDITORIAL_ACCOUNT, TEXT_CODES
from streams.core.policy import load_policy
from streams.core.scoring import Reason, score, score_values, scored_codes

POLICY = load_policy(None)
CODES = sorted(scored_codes(POLICY) | {"withdrawal_requested", "collectible_evidence"})
T = 1_650_000_000.0 // BUCKET_S * BUCKET_S


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(CODES), st.integers(1, 20), max_size=12),
    st.one_of(st.none(), st.tuples(st.integers(0, 10), st.floats(0, 1))),
    st.booleans(),
)
def test_score_values_equal_score(counts: dict[str, int], ratio, editorial: bool) -> None:
    counters = SignalCounters()
    for code, n in counts.items():
        counters.add(code, n, T, [f"{code}-1"], 20)
    window = counters.window_counts(T - BUCKET_S, T, scored_codes(POLICY))
    ignore = TEXT_CODES if editorial else frozenset()
    note = Reason(EDITORIAL_ACCOUNT, 0.0, 3, ("p1",)) if editorial else None  # weight 0: adds 0.0
    full = score(counters, POLICY, T - BUCKET_S, T, ratio, ignore=ignore, note=note)
    assert score_values(window, POLICY, ratio, ignore) == (full.trading, full.fraud)
