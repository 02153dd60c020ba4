"""The shipped stance model: one post of each speech act, and what the stance carries.

The examples are written for these tests (not taken from the corpus the model learnt from);
each reads unmistakably as its kind to a person, which is what the model must get right.
"""

from __future__ import annotations

import gzip

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.stance import (
    DEFAULT_MODEL_PATH,
    DISCUSSION_KINDS,
    OFFER_KINDS,
    STANCE_KINDS,
    Linear,
    StanceModel,
    StanceModelError,
)

EXAMPLES = {
    "offer": [
        ("寄售区今晚开放", "各位藏友，我们的寄售区今晚8点开放，手里有「山海」系列的可以挂单了，手续费只收3%，有问题私信客服。"),
        ("", "收「敦煌飞天」#0088，出「锦鲤」两张，价格私聊，加V：dh_88888，走中介担保。"),
    ],
    "scheme": [
        ("保价计划", "持有「麒麟」满30天，平台承诺按发行价1.5倍回收，每月还有持仓分红，邀请好友再得10%佣金！"),
        ("", "Hold any Phoenix piece and earn a guaranteed 3% every week, principal back after 6 months. Invite friends for team bonuses."),
    ],
    "report": [
        ("多家数藏平台被约谈", "据媒体报道，近日多家数字藏品平台因违规开展二级市场交易被主管部门约谈，部分平台已关闭寄售功能。业内人士表示，行业将进一步规范。"),
    ],
    "warning": [
        ("警方提醒：谨防“保本回购”骗局", "近期有不法分子以“保本回购”“稳赚不赔”为诱饵，诱导市民加入所谓的藏品投资群。警方提醒：切勿轻信，切勿向陌生人转账。"),
    ],
    "explanation": [
        ("律师解读：数字藏品能不能转卖？", "问：买来的数字藏品可以转卖吗？答：从法律上看，平台开展二级交易需要相应资质，个人私下转卖也存在合同和权属风险，建议先了解平台用户协议。"),
    ],
    "opinion": [
        ("评论：别让数字藏品沦为炒作工具", "当一件藏品一天之内价格翻了十倍，它就不再是文化产品，而是击鼓传花的筹码。平台应当停止变相的二级交易，回归文化本身。"),
    ],
    "rules_notice": [
        ("关于禁止私下交易的公告", "本平台从未开放二级市场，也不支持有偿转赠。近期发现部分账号私下倒卖藏品，平台已对12个账号作出封禁处理。"),
    ],
    "promotion": [
        ("新品首发预告", "「青绿山水」系列将于本周五晚8点首发，限量5000份，每份19.9元，每人限购2份，记得提前预约。"),
    ],
    "other_market": [
        ("今日A股复盘", "今天沪指震荡上行，券商板块领涨，北向资金净流入超50亿，短线关注量能能否持续放大。"),
        ("出闲置", "出一台九成新的富士X100V，配件齐全，价格私聊，同城可面交。"),
    ],
}


@pytest.fixture(scope="module")
def model() -> StanceModel:
    return StanceModel.default()


def test_every_stance_kind_has_an_example():
    assert set(EXAMPLES) == set(STANCE_KINDS)


@pytest.mark.parametrize("kind,title,text", [(k, t, x) for k, posts in EXAMPLES.items() for t, x in posts])
def test_a_post_is_read_as_its_speech_act(model, kind, title, text):
    stance = model.classify(title, text)
    assert stance.kind == kind
    assert stance.is_offer == (kind in OFFER_KINDS)


def test_an_offer_says_which_sentence_and_cues_show_it(model):
    title, text = EXAMPLES["offer"][0]
    stance = model.classify(title, text)
    assert stance.sentence and stance.sentence in stance.explain()
    assert stance.cues and all(cue in stance.explain() for cue in stance.cues)


def test_discussion_is_explained_on_request_only(model):
    title, text = EXAMPLES["warning"][0]
    assert model.classify(title, text).sentence == ""
    explained = model.explain(title, text)
    assert explained.kind in DISCUSSION_KINDS and explained.sentence and explained.cues


def test_analysis_of_a_long_post_reads_only_its_head(model):
    """The stance reads the first MAX_ANALYSED_CHARS characters: the cost of a post is bounded,
    whatever its length. (What lies beyond is not read: an offer hidden under 4,000 characters
    of news is missed by the stance, as this shows.)"""
    from streams.core.stance import MAX_ANALYSED_CHARS

    title, report = EXAMPLES["report"][0]
    _, offer = EXAMPLES["offer"][0]
    offers = (offer + "。") * (MAX_ANALYSED_CHARS // len(offer) + 1)  # longer than what is read
    reports = ("。" + report) * 200
    assert model.classify("", offers).kind == "offer"
    assert model.classify("", offers + reports).kind == "offer"  # the reports are never read
    assert model.classify(title, reports + offers).kind == "report"


def test_the_shipped_model_is_a_gzip_json_with_its_version():
    data = orjson.loads(gzip.decompress(DEFAULT_MODEL_PATH.read_bytes()))
    assert data["format"] == "tradewatch-stance/1" and data["version"]


def test_a_missing_or_malformed_model_fails_naming_the_file(tmp_path):
    with pytest.raises(StanceModelError, match="not found: .*nope.json"):
        StanceModel.from_file(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    with pytest.raises(StanceModelError, match="bad.json"):
        StanceModel.from_file(bad)


@pytest.mark.parametrize("text", ["早安", "今天天气不错。", "早安，朋友们", "晚安", "周末愉快！", "大家晚安", "Good morning everyone"])
def test_a_greeting_is_too_short_to_be_an_offer(model, text):
    # a first-hand platform posting these daily once got a qualification reminder
    assert not model.classify("", text).is_offer


QUOTED_PITCHES = [
    ("出「敦煌」两张，小刀可议，加V dh_12345，价格私聊，先款后货。",
     "反诈提醒：有人在群里发“出「敦煌」两张，小刀可议，加V dh_12345，价格私聊，先款后货”，这是典型的私下交易话术，请勿转账。"),
    ("WTS Koi #88, 1.2k, DM @koi_seller, pay first.",
     'Scam alert: a message going round says "WTS Koi #88, 1.2k, DM @koi_seller, pay first". Do not pay anyone who writes like this.'),
]


@pytest.mark.parametrize("pitch, warning", QUOTED_PITCHES)
def test_a_pitch_is_an_offer_but_the_warning_that_quotes_it_word_for_word_is_not(model, pitch, warning):
    assert model.classify("", pitch).is_offer
    quoted = model.explain("", warning)
    assert quoted.kind in DISCUSSION_KINDS and quoted.offer < 0.5


def test_quoted_words_are_kept_apart_from_the_authors_own():
    from streams.core.stance import features

    feats = features('警方提醒：骗子会说"加v12345"。')
    assert "q:cue:contact_route" in feats and "cue:contact_route" not in feats
    assert "q:加" in feats and "加" not in feats


weights_of_a_class = st.dictionaries(st.sampled_from("abcdefgh"), st.floats(-50, 50, allow_nan=False), max_size=8)


@settings(max_examples=200, deadline=None)
@given(st.tuples(weights_of_a_class, weights_of_a_class, weights_of_a_class),
       st.lists(st.sampled_from("abcdefghxyz"), unique=True), st.randoms())
def test_a_linear_score_is_the_weighted_sum_whatever_the_order_of_the_features(weights, features, rng):
    model = Linear(("p", "q", "r"), {"p": 0.5, "q": -1.0}, dict(zip("pqr", weights)))
    scale = 1 / len(features) ** 0.5 if features else 0.0
    expected = [bias + scale * sum(w.get(f, 0.0) for f in features) for bias, w in zip((0.5, -1.0, 0.0), weights)]
    shuffled = features[:]
    rng.shuffle(shuffled)
    assert model.scores(features) == pytest.approx(expected, abs=1e-8)
    assert model.scores(shuffled) == model.scores(features)  # exact: the same on every worker


@pytest.mark.parametrize("weight", [1e12, -1e12])
def test_a_model_with_a_weight_out_of_range_fails_naming_the_file(tmp_path, weight):
    data = orjson.loads(gzip.decompress(DEFAULT_MODEL_PATH.read_bytes()))
    kind = data["kind"]["classes"][0]
    data["kind"]["weights"][kind]["a-feature"] = weight
    path = tmp_path / "odd.json"
    path.write_bytes(orjson.dumps(data))
    with pytest.raises(StanceModelError, match="odd.json"):
        StanceModel.from_file(path)


def test_a_weight_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError, match="nan out of range"):
        Linear(("p",), {}, {"p": {"a": float("nan")}})
