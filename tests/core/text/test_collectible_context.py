"""Collectible context: the nearer object decides what is traded; account context keeps the rest."""

from __future__ import annotations

import math

import pytest

from streams.core.text.candidate import ALIVE
from streams.core.text.collectible_context import gap_to_nearest, in_collectible_context, split_by_context
from streams.core.text.matching import TextMatcher
from tests.core.text.helpers import candidate

WINDOW = 60
TRADING = frozenset({"trading_venue", "fraud_promise"})
SCOPES = {"trading_venue": "near", "fraud_promise": "post", "primary_promotion": "near"}


def test_gap_to_nearest_span() -> None:
    spans = [(0, 4), (20, 24)]
    assert gap_to_nearest(spans, 10, 12) == 6
    assert gap_to_nearest(spans, 2, 3) == 0  # overlapping
    assert gap_to_nearest([], 0, 1) == math.inf


@pytest.mark.parametrize(
    ("scope", "collectible", "other", "expected"),
    [
        ("near", [(90, 96)], [], True),
        ("near", [(90, 96)], [(200, 202)], True),
        ("near", [(100 + WINDOW + 1, 200)], [], False),  # too far for scope near
        ("post", [(100 + WINDOW + 1, 200)], [], True),  # anywhere in the post
        ("near", [(90, 96)], [(100, 102)], False),  # another market is nearer
        ("post", [(0, 90)], [(110, 112)], False),  # a tie goes to "not collectibles"
        ("post", [], [], False),  # no collectible context at all
    ],
)
def test_nearest_object_decides(scope: str, collectible: list[tuple[int, int]], other: list[tuple[int, int]],
                                expected: bool) -> None:
    assert in_collectible_context(scope, 100, 100, collectible, other, WINDOW) is expected


def test_split_keeps_counted_terms_and_trading_terms_awaiting_account_context() -> None:
    near, far = candidate(10, 12), candidate(300, 302)
    promotion = candidate(400, 402, code="primary_promotion")
    beside_other_market = candidate(500, 502)
    cancelled = candidate(14, 16)
    cancelled[ALIVE] = False
    counted, account = split_by_context([near, cancelled, far, promotion, beside_other_market], SCOPES,
                                        [(0, 4)], [(510, 512)], WINDOW, TRADING)
    assert counted == [near]
    assert account == [far]  # promotion is not trading; the last term sits beside another market


@pytest.mark.parametrize(
    ("text", "hits", "account_context_hits"),
    [
        ("数字藏品寄售市场今日开放", {"trading_venue"}, set()),
        ("寄售市场今日开放", set(), {"trading_venue"}),
        ("今日A股数字藏品概念股集体走强，二级市场溢价明显", set(), set()),
        ("出二手相机，寄售市场今日开放", set(), set()),
    ],
)
def test_context_decides_what_counts(text: str, hits: set[str], account_context_hits: set[str]) -> None:
    analysis = TextMatcher.default().analyse("", text)
    assert {h.code for h in analysis.hits} == hits
    assert {h.code for h in analysis.account_context_hits} == account_context_hits
