"""Vocabulary matching: trading and fraud posts must be caught; news, notices and other markets never."""

from __future__ import annotations

import tomllib

import pytest

from streams.core.text.matching import (
    DEFAULT_VOCABULARY_PATH,
    TEXT_SIGNAL_CODES,
    TextHit,
    TextMatcher,
    VocabularyError,
)
from tests.core.text.helpers import CRACKDOWN_NEWS


@pytest.fixture(scope="module")
def matcher() -> TextMatcher:
    return TextMatcher.default()


def codes(hits: list[TextHit]) -> set[str]:
    return {hit.code for hit in hits}


def hit(hits: list[TextHit], code: str) -> TextHit:
    return next(h for h in hits if h.code == code)


# --- trading posts are caught ----------------------------------------------------------------


def test_open_secondary_market_for_collectibles(matcher: TextMatcher) -> None:
    hits = matcher.match("重磅", "本平台数字藏品二级市场已开放，不要错过！")
    assert hit(hits, "trading_venue").terms == ("二级市场",)


def test_consignment_market_post(matcher: TextMatcher) -> None:
    hits = matcher.match("【公告】", "藏品寄售市场今日10点开放，寄售手续费2.5%，欢迎各位藏友挂售。")
    assert hit(hits, "trading_venue").count >= 2


def test_floor_price_and_premium_speculation(matcher: TextMatcher) -> None:
    hits = matcher.match("", "这个NFT系列地板价一周翻倍，溢价已经300%，抄底正当时")
    assert hit(hits, "price_speculation").count >= 3


@pytest.mark.parametrize(
    "text",
    ["数字藏品私下出，价格可谈，加V：nft888", "数藏低价出 薇❤ abc123", "NFT藏品交流 Q群 123456789",
     "藏品担保交易，vx: trader_01", "收数字藏品，扣扣 88776655"],
)
def test_off_platform_trade_with_disguised_contact_handle(matcher: TextMatcher, text: str) -> None:
    assert "off_platform_trade" in codes(matcher.match("", text))


def test_crypto_settlement_and_wallet_address(matcher: TextMatcher) -> None:
    text = "NFT藏品支持USDT结算，付款至 0x52908400098527886E0F7030069857D2E4169EE7"
    crypto = hit(matcher.match("", text), "crypto_settlement")
    assert crypto.count == 2 and "wallet_address_evm" in crypto.terms


def test_split_ownership(matcher: TextMatcher) -> None:
    hits = matcher.match("", "本期数字藏品将拆分所有权，碎片化发行，每人可认购份额")
    assert hit(hits, "split_ownership").count >= 2


def test_buy_back_promise(matcher: TextMatcher) -> None:
    hits = matcher.match("", "数藏平台承诺保本回购，稳赚不赔，每月定期回购")
    assert hit(hits, "fraud_promise").count >= 3


def test_withdrawal_aftermath(matcher: TextMatcher) -> None:
    hits = matcher.match("平台公告", "因运营调整，数字藏品平台暂停提现，后续按首发价20%清退")
    assert hit(hits, "fraud_aftermath").count >= 2


def test_english_trading_post(matcher: TextMatcher) -> None:
    hits = matcher.match("", "Secondary market now open for our NFT collection, list your items!")
    assert "trading_venue" in codes(hits)


def test_disguised_spacing_still_counts(matcher: TextMatcher) -> None:
    hits = matcher.match("", "数 字 藏 品 二 级 市 场 开 放")
    assert "trading_venue" in codes(hits)


def test_hits_follow_code_order_and_cap_terms(matcher: TextMatcher) -> None:
    text = ("数字藏品寄售、挂售、转售、二次交易、多级流转、自由交易全面开放，"
            "地板价翻倍，USDT结算，保本回购")
    hits = matcher.match("", text)
    order = [TEXT_SIGNAL_CODES.index(h.code) for h in hits]
    assert order == sorted(order)
    assert all(1 <= len(h.terms) <= 5 and h.count >= len(h.terms) for h in hits)


# --- traps: nothing, ever --------------------------------------------------------------------

TRAPS = {
    "crackdown news": CRACKDOWN_NEWS,
    "news without a headline cue": (
        "",
        "近日，多家数藏平台因涉嫌二级市场炒作被封号。有藏友反映，平台此前承诺保本回购，如今却"
        "无法提现，疑似跑路。律师表示，此类平台涉嫌非法集资，建议投资者尽快报警。",
    ),
    "regulator risk notice": (
        "关于防范数字藏品炒作风险的提示",
        "近期，部分不法分子以数字藏品为噱头，炒作二级市场价格，诱导公众参与场外交易，以USDT等"
        "虚拟货币结算。请广大消费者提高警惕，谨防上当受骗。",
    ),
    "industry association initiative": (
        "关于防范NFT相关金融风险的倡议",
        "坚决遏制NFT金融化证券化倾向，不通过分割所有权或者批量创设等方式削弱NFT非同质化特征，"
        "不为NFT交易提供集中交易、持续挂牌交易、标准化合约交易等服务，不以比特币、以太币、"
        "泰达币等虚拟货币作为NFT发行交易的计价和结算工具。",
    ),
    "compliance notice": ("", "本平台不开放二级市场，不支持转售，严禁私下交易。"),
    "compliance notice, trailing negation": ("", "数字藏品二级市场暂不开放，转售功能未开放。"),
    "a-share commentary": (
        "", "今日A股数字藏品概念股集体走强，二级市场溢价明显，多只个股涨停，基金加仓元宇宙板块。"),
    "bond commentary": ("", "可转债在二级市场交易时存在溢价，投资者应关注转股溢价率。"),
    "second-hand camera": ("", "出二手相机，九成新，转卖自用富士XT4，价格可小刀，加V：cam8888"),
    "physical painting auction": (
        "", "秋季拍卖会精选藏品200余件，含明清瓷器、近现代书画油画，欢迎竞拍，溢价空间大。"),
    "concert tickets": ("", "周杰伦演唱会门票转让，内场两张，原价转，私聊"),
    "game skins": ("", "王者荣耀皮肤交易，CSGO饰品寄售，地板价出，加V：skin666"),
    "english negation": ("", "We do not support resale of collectibles on our platform."),
    "english news": (
        "Regulators crack down on NFT trading",
        "According to state media, authorities suspended more than ten NFT platforms that ran "
        "secondary markets and let users resell collectibles at huge premiums, analysts said.",
    ),
}


@pytest.mark.parametrize("name", sorted(TRAPS))
def test_trap_produces_no_signal(matcher: TextMatcher, name: str) -> None:
    title, text = TRAPS[name]
    assert matcher.match(title, text) == []


def test_primary_sale_announcement_is_only_promotion(matcher: TextMatcher) -> None:
    hits = matcher.match("新品首发", "XX数字藏品限量发售10000份，今晚8点开售，提前预约可获空投。")
    assert codes(hits) == {"primary_promotion"}


# --- vocabulary loading ----------------------------------------------------------------------


def test_shipped_vocabulary_loads_and_covers_every_code() -> None:
    with open(DEFAULT_VOCABULARY_PATH, "rb") as handle:
        data = tomllib.load(handle)
    assert all(data[code]["terms"] for code in TEXT_SIGNAL_CODES)
    assert TextMatcher.from_file(DEFAULT_VOCABULARY_PATH).match("", "数字藏品寄售") != []


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"trading_venue": {"terms": "寄售"}}, "vocabulary.trading_venue.terms"),
        ({"trading_venue": {"terms": ["寄售", 3]}}, "vocabulary.trading_venue.terms"),
        ({"negators": "不"}, "vocabulary.negators"),
        ({"trading_venue": {"terms": [], "scope": "everywhere"}}, "vocabulary.trading_venue.scope"),
        ({"settings": {"context_window": -1}}, "vocabulary.settings.context_window"),
        ({"tradng_venue": {"terms": []}}, "vocabulary.tradng_venue"),
        ({"patterns": [{"name": "x", "role": "trading_venue", "regex": "("}]},
         "vocabulary.patterns[0].regex"),
        ({"patterns": [{"name": "x", "role": "nonsense", "regex": "a"}]},
         "vocabulary.patterns[0].role"),
    ],
)
def test_malformed_vocabulary_names_the_key(mapping: dict, key: str) -> None:
    with pytest.raises(VocabularyError, match=key.replace("[", r"\[").replace("]", r"\]")):
        TextMatcher.from_mapping(mapping)


def test_small_custom_vocabulary_applies_the_same_rules() -> None:
    matcher = TextMatcher.from_mapping({
        "collectible_context": ["藏品"],
        "negators": ["禁止"],
        "trading_venue": {"terms": ["寄售"]},
    })
    assert codes(matcher.match("", "藏品寄售")) == {"trading_venue"}
    assert matcher.match("", "藏品禁止寄售") == []
    assert matcher.match("", "寄售") == []


def test_analysis_cost_grows_linearly_with_the_post_length():
    """A post dense with trading words, negators and quotes: ten times longer costs about ten
    times as much (a quadratic analysis takes ~120 times as long for 100k characters as for
    10k), so one hostile post cannot stall the event loop that decides every account of a worker."""
    import time

    matcher = TextMatcher.default()
    unit = "数字藏品寄售市场开放，二级市场暂不开放，“保本回购”加V：abc12345 不支持转售 "

    def cost(length: int) -> float:
        text = (unit * (length // len(unit) + 1))[:length]
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            matcher.analyse("", text)
            best = min(best, time.perf_counter() - start)
        return best

    # ~9x measured on an idle machine; the bound leaves room for a loaded CI machine, and a
    # quadratic analysis (~120x) still fails it
    assert cost(100_000) / cost(10_000) < 35
