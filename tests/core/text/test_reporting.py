"""Reporting: news and regulators lose all signals, but only when reporting dominates."""

from __future__ import annotations

import pytest

from streams.core.text.matching import TextMatcher
from streams.core.text.reporting import reads_as_reporting, reporting_score
from tests.core.text.helpers import CRACKDOWN_NEWS

SETTINGS = {"reporting_min_score": 3, "reporting_unsolicited_score": 2, "reporting_ratio": 0.75}


def test_score_counts_distinct_cues_and_weighs_the_title() -> None:
    assert reporting_score([], 10, 2) == 0
    assert reporting_score([(20, "监管"), (30, "监管"), (40, "通报")], 10, 2) == 2
    assert reporting_score([(3, "监管"), (30, "监管"), (40, "通报")], 10, 2) == 3


@pytest.mark.parametrize(
    ("score", "trading_terms", "soliciting", "solicited", "expected"),
    [
        (0, 0, False, False, False),
        (2, 5, False, False, True),  # third person, no address to buyers: two cues suffice
        (1, 0, False, False, False),
        (2, 0, False, True, False),  # addresses buyers: needs the minimum score
        (3, 4, False, True, True),  # ... and to dominate the trading terms (3 >= 0.75 * 4)
        (3, 5, False, True, False),
        (9, 0, True, False, False),  # a live handle or wallet address never gets the pass
    ],
)
def test_reporting_has_to_dominate(score: float, trading_terms: int, soliciting: bool, solicited: bool,
                                   expected: bool) -> None:
    assert reads_as_reporting(score, trading_terms, soliciting=soliciting, solicited=solicited,
                              settings=SETTINGS) is expected


@pytest.fixture(scope="module")
def matcher() -> TextMatcher:
    return TextMatcher.default()


def test_crackdown_news_reads_as_reporting(matcher: TextMatcher) -> None:
    analysis = matcher.analyse(*CRACKDOWN_NEWS)
    assert analysis.reporting and analysis.hits == [] and analysis.account_context_hits == []


def test_news_printing_a_live_contact_handle_gets_no_reporting_pass(matcher: TextMatcher) -> None:
    title, text = CRACKDOWN_NEWS
    hits = matcher.match(title, text + "数字藏品二级市场私下交易请加V：nft888")
    assert "off_platform_trade" in {h.code for h in hits}


def test_trading_platform_cannot_buy_a_pass_with_one_regulation_word(matcher: TextMatcher) -> None:
    text = ("响应监管要求，风险提示：理性消费。数字藏品二级市场今日开放，寄售手续费2%，"
            "地板价已翻倍，欢迎挂售")
    assert "trading_venue" in {h.code for h in matcher.match("", text)}


def test_news_without_trading_words_still_reads_as_reporting(matcher: TextMatcher) -> None:
    # the engine counts such posts per account: an account that mostly reports is a news account
    analysis = matcher.analyse("关于防范数字藏品炒作风险的提示", "请广大消费者提高警惕，谨防上当受骗。")
    assert analysis.reporting and analysis.hits == []
    assert not matcher.analyse("新品首发", "数字藏品今晚8点开售").reporting
