"""What scoring reads from an account's counters over a window, and a cheap test that an
event certainly leaves nothing to decide.

Most events add a hit to an account far below every threshold. :meth:`ScoreGate.certainly_below`
answers "nothing to decide" from weighted sums alone, without sorting terms or rounding; it may
only say so when the exact scores (:meth:`ScoreGate.score_values`, equal to
:func:`streams.core.scoring.score`) would say so too — ``tests/core/test_gate_model.py``
checks that against the exact scores on generated counters and policies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from streams.core.counters import BUCKET_S, SignalCounters
from streams.core.policy import Policy
from streams.core.scoring import score_values, scored_codes
from streams.core.signals import POST_CODES

EDITORIAL_POST = "editorial_post"  # a post that reads as reporting or discussion (not a signal; counted)
SIGNAL_POST = "signal_post"  # a post with at least one text signal (not a signal; counted)
WITHDRAWAL_REQUESTED_COUNT = "withdrawal_requested"  # counted for the failure ratio (not a signal)
EDITORIAL_ACCOUNT = "editorial_account"  # reason code when an account's text is discounted
FEW_OFFER_POSTS = "few_offer_posts"  # reason code when too few posts offer anything for text to count
TEXT_CODES = frozenset(POST_CODES)  # what a post can contribute: discounted for an editorial account

Window = tuple[dict[str, int], tuple[int, float] | None, tuple[str, int] | None]


def sum_certainly_below(threshold: float) -> float:
    """A bound on a weighted sum ``s`` such that ``s < bound`` makes the saturating score
    ``round(1 - exp(-s), 6)`` (scoring.py) certainly less than ``threshold``, whatever order
    the (at most a few dozen, non-negative) terms were added in.

    ``1 - exp(-s) < threshold - 2e-6`` leaves room for the rounding to 6 decimals (5e-7) and
    for exp's error; the relative margin of 1e-9 on the sum is far above the ~1e-14 by which
    sums of the same terms in another order can differ.
    """
    if threshold - 2e-6 <= 0.0:
        return -1.0  # never certain: every sum is >= 0
    if threshold - 2e-6 >= 1.0:
        return math.inf
    return -math.log1p(-(threshold - 2e-6)) * (1.0 - 1e-9)


class ScoreGate:
    """The window reading and the threshold shortcut for one (frozen) policy."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        # what scoring reads from the counters (not the bookkeeping codes with many buckets)
        self.scored_codes = scored_codes(policy) | {WITHDRAWAL_REQUESTED_COUNT, EDITORIAL_POST, SIGNAL_POST}
        # code -> (trading weight, trading cap, fraud weight, fraud cap, is a text code)
        self._weights: dict[str, tuple[float, int, float, int, bool]] = {}
        for code in sorted(set(policy.trading_weights) | set(policy.fraud_weights)):
            t = policy.trading_weights.get(code)
            f = policy.fraud_weights.get(code)
            self._weights[code] = (
                t.weight if t is not None and t.weight > 0 else 0.0,
                t.cap if t is not None else 0,
                f.weight if f is not None and f.weight > 0 else 0.0,
                f.cap if f is not None else 0,
                code in TEXT_CODES,
            )
        self._fraud_codes = tuple(code for code, w in self._weights.items() if w[2])
        ratio = policy.fraud_weights.get("withdrawal_failure_ratio")
        self._ratio_weight = ratio.weight if ratio is not None and ratio.weight > 0 else 0.0
        self._fraud_sum_below = sum_certainly_below(policy.fraud_threshold)
        self._reminder_sum_below = sum_certainly_below(policy.trading_reminder_threshold)

    def window(self, counters: SignalCounters, start: float, end: float) -> Window:
        """What scoring reads in (start, end]: the counts, the withdrawal failure ratio, and
        why the account's text does not count, if it does not: (EDITORIAL_ACCOUNT, editorial
        posts) for an account that reads as editorial, (FEW_OFFER_POSTS, offer posts) when
        fewer posts than the policy's ``min_offer_posts`` offer anything."""
        counts = counters.window_counts(start, end, self.scored_codes)
        failures = counts.get("withdrawal_failure", 0)
        requested = counts.get(WITHDRAWAL_REQUESTED_COUNT, 0)
        ratio = (failures, failures / requested) if requested else ((failures, 1.0) if failures else None)
        signal = counts.get(SIGNAL_POST, 0)
        if 0 < signal < self.policy.min_offer_posts:
            return counts, ratio, (FEW_OFFER_POSTS, signal)
        editorial = counts.get(EDITORIAL_POST, 0)
        if editorial >= self.policy.editorial_min_posts and editorial >= signal:
            return counts, ratio, (EDITORIAL_ACCOUNT, editorial)
        return counts, ratio, None

    def score_values(self, counters: SignalCounters, start: float, end: float) -> tuple[float, float]:
        """(trading, fraud) as :func:`streams.core.scoring.score` gives them, without reasons."""
        counts, ratio, text_note = self.window(counters, start, end)
        return score_values(counts, self.policy, ratio, TEXT_CODES if text_note is not None else frozenset())

    def certainly_below(self, counters: SignalCounters, start: float, end: float, has_case: bool) -> bool:
        """True only if the exact scores over (start, end] are below the fraud threshold and,
        without a case, below the reminder threshold: the same weighted sums, added up in any
        order, compared on the sum side with a margin (see :func:`sum_certainly_below`).
        False means "not certain"; the exact scores decide."""
        first = int(start // BUCKET_S)  # bucket_of, inlined (this runs for most events)
        totals = counters.totals_within(first, int(end // BUCKET_S))
        if totals is None:
            counts, ratio, text_note = self.window(counters, start, end)
            return self._sums_below(counts.items(), None, first, ratio, text_note is not None, has_case)
        # the usual window: every count is its code's total minus the start hour (as in
        # SignalCounters.window_counts), so read them in place instead of building a dict
        buckets = counters.buckets
        requested = failures = 0
        signal = totals[SIGNAL_POST] - buckets[SIGNAL_POST].get(first, 0) if SIGNAL_POST in buckets else 0
        ignore_text = 0 < signal < self.policy.min_offer_posts  # as in window()
        if not ignore_text and EDITORIAL_POST in buckets:
            editorial = totals[EDITORIAL_POST] - buckets[EDITORIAL_POST].get(first, 0)
            ignore_text = editorial >= self.policy.editorial_min_posts and editorial >= signal
        if "withdrawal_failure" in buckets:
            failures = totals["withdrawal_failure"] - buckets["withdrawal_failure"].get(first, 0)
        if WITHDRAWAL_REQUESTED_COUNT in buckets:
            requested = totals[WITHDRAWAL_REQUESTED_COUNT] - buckets[WITHDRAWAL_REQUESTED_COUNT].get(first, 0)
        ratio = (failures, failures / requested) if requested else ((failures, 1.0) if failures else None)
        if has_case:  # only the fraud score matters: look at the few fraud codes, not every code held
            held = [(code, buckets[code]) for code in self._fraud_codes if code in buckets]
            if not held and ratio is None:
                return self._fraud_sum_below > 0.0  # a fraud score of 0
            return self._sums_below(held, totals, first, ratio, ignore_text, has_case)
        return self._sums_below(buckets.items(), totals, first, ratio, ignore_text, has_case)

    def _sums_below(
        self, counts: Iterable[tuple[str, Any]], totals: dict[str, int] | None, first: int,
        ratio: tuple[int, float] | None, ignore_text: bool, has_case: bool,
    ) -> bool:
        """The sums of :meth:`certainly_below` over ``counts``: (code, count) pairs, or
        (code, hourly buckets) pairs when ``totals`` is given."""
        weights = self._weights
        trading = fraud = 0.0
        for code, count in counts:
            w = weights.get(code)
            if w is None or (ignore_text and w[4]):
                continue
            if totals is not None:  # count is the code's hourly buckets
                count = totals[code] - count.get(first, 0)
            if count <= 0:
                continue
            if w[0]:
                trading += w[0] * (count if count < w[1] else w[1])
            if w[2]:
                fraud += w[2] * (count if count < w[3] else w[3])
        if ratio is not None and self._ratio_weight:
            failures, share = ratio
            if failures >= self.policy.withdrawal_min_failures and share >= self.policy.withdrawal_min_ratio:
                fraud += self._ratio_weight
        return fraud < self._fraud_sum_below and (has_case or trading < self._reminder_sum_below)
