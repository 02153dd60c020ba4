"""Reporting: news and regulators use every trading word; they are not trading.

A news story about the March 2022 suspensions names secondary markets, premiums and USDT. If
a post reads as reporting, ALL its signals are cancelled. So that a trading platform cannot
buy a pass with one "监管" or a boilerplate "风险提示", reporting has to dominate: the score
(distinct reporting cues, each counting ``reporting_title_weight`` when it appears in the
title, because a headline frames the whole post) must reach ``reporting_min_score`` AND
``reporting_ratio`` times the number of distinct trading terms that survived the other rules.
Distinct terms, not repetitions, so stuffing one word does not help. A post that carries a
live contact handle or wallet address (a pattern marked ``solicits``) never gets the pass:
news and regulators do not print a way to pay someone. Reporting talks *about* platforms in
the third person; trading posts *address* buyers (本平台, 我们, 快来, 立即, 上架, "join"): a post
with no ``solicitation`` cue needs only ``reporting_unsolicited_score`` to read as reporting.
"""

from __future__ import annotations

from collections.abc import Mapping


def reporting_score(cues: list[tuple[int, str]], title_end: int, title_weight: float) -> float:
    """Distinct reporting cues, each weighing ``title_weight`` if it appears in the title
    (before ``title_end``) and 1 otherwise; ``cues`` holds (start, display) of each cue."""
    weights: dict[str, float] = {}
    for start, display in cues:
        weight = title_weight if start < title_end else 1
        if weight > weights.get(display, 0):
            weights[display] = weight
    return sum(weights.values())


def reads_as_reporting(score: float, trading_terms: int, *, soliciting: bool, solicited: bool,
                       settings: Mapping[str, float]) -> bool:
    """Whether a post with this reporting ``score`` and this many distinct trading terms reads
    as reporting. ``soliciting``: a live handle or wallet address (not in quotes);
    ``solicited``: the post addresses buyers."""
    if not score:
        return False
    if soliciting:  # a live handle or wallet (not in quotes) means business
        return False
    if not solicited and score >= settings["reporting_unsolicited_score"]:
        return True
    return score >= settings["reporting_min_score"] and score >= settings["reporting_ratio"] * trading_terms
