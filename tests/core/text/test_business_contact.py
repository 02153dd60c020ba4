"""Business contacts: an account's handle for business enquiries is not an off-platform trade."""

from __future__ import annotations

from streams.core.text.business_contact import OFF_PLATFORM_TRADE, business_contact
from streams.core.text.matching import TextMatcher
from tests.core.text.helpers import alive, candidate

WINDOW = 14


def test_contact_cue_cancels_a_following_handle_in_its_clause_within_the_window() -> None:
    terms = [candidate(6, code=OFF_PLATFORM_TRADE), candidate(4 + WINDOW, code=OFF_PLATFORM_TRADE),
             candidate(5 + WINDOW, code=OFF_PLATFORM_TRADE)]
    business_contact(terms, [(0, 4, 0)], WINDOW)
    assert alive(terms) == [False, False, True]


def test_contact_cue_cancels_only_off_platform_trade() -> None:
    terms = [candidate(5, code="trading_venue"), candidate(7, code="crypto_settlement")]
    business_contact(terms, [(0, 4, 0)], WINDOW)
    assert alive(terms) == [True, True]


def test_contact_cue_does_not_reach_back_or_into_the_next_clause() -> None:
    terms = [candidate(0, code=OFF_PLATFORM_TRADE), candidate(8, code=OFF_PLATFORM_TRADE, clause=1)]
    business_contact(terms, [(3, 6, 0)], WINDOW)
    assert alive(terms) == [True, True]


def test_business_contact_handle_is_not_a_trade() -> None:
    hits = TextMatcher.default().match("", "XX数字藏品平台。商务合作请加微信：bizcoop2022")
    assert "off_platform_trade" not in {h.code for h in hits}


def test_handle_in_a_later_clause_than_the_contact_cue_is_a_trade() -> None:
    text = "XX数字藏品平台。商务合作请联系我们，数字藏品私下交易加微信：bizcoop2022"
    hits = TextMatcher.default().match("", text)
    assert next(h for h in hits if h.code == "off_platform_trade").terms == ("私下交易", "contact_handle_wechat")
