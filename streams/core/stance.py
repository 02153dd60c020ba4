"""Stance: does a post *offer* trading (or run a scheme), or does it *discuss* it?

Everyone in this field uses the same words — traders, and the reporters, police, lawyers,
editorial writers and rule notices that write about traders. What separates them is the
speech act: an offer addresses buyers and gives a way to trade; discussion describes,
reports, warns, explains, condemns or forbids. So the text signals of a post count only when
its stance is an offer (:data:`OFFER_KINDS`); see :mod:`streams.core.post_signals`.

The stance is a small multinomial logistic model over features that carry speech acts rather
than topic: who speaks to whom (first/second person, the platform naming itself), calls to
action at the start of a clause, a concrete way to pay or reach someone (handles, wallets,
links, prices), reported speech and quotation (the scammer's words inside a warning), third
person subjects, questions and Q&A layout — plus character n-grams of the normalised text for
the phrasing such cues miss. The model is trained by ``tradewatch train-stance`` on the
labelled corpus in ``corpus/`` (never on its sealed part) and shipped as package data
(``streams/data/stance_model.json``), so nothing is downloaded at run time.

Every stance explains itself: the sentence that weighs most for the chosen kind and the
features that weigh most in it. Classifying a post costs one pass of feature extraction and
one dictionary lookup per feature and kind.
"""

from __future__ import annotations

import functools
import gzip
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import orjson

from streams.core.text.normalise import normalise

# The kinds of speech act a post can be. Two are offers (the account trades, or runs a
# scheme); the rest are ways of talking about trading without doing it.
OFFER = "offer"  # addresses buyers/sellers and gives a way to trade
SCHEME = "scheme"  # promises returns, buy-backs, jackpots, commissions; stalls withdrawals
REPORT = "report"  # news, court and market reports, research
WARNING = "warning"  # police, banks, consumer guides: do not fall for this
EXPLANATION = "explanation"  # lawyers, engineers: what is legal, how it works
OPINION = "opinion"  # editorials: what crosses the line, what should stop
RULES_NOTICE = "rules_notice"  # a platform's own rules and the accounts it punished
PROMOTION = "promotion"  # first-hand sales, drops, airdrops: allowed business
OTHER_MARKET = "other_market"  # stocks, second-hand goods, physical collectibles, tickets
STANCE_KINDS: tuple[str, ...] = (
    OFFER, SCHEME, REPORT, WARNING, EXPLANATION, OPINION, RULES_NOTICE, PROMOTION, OTHER_MARKET,
)
OFFER_KINDS = frozenset({OFFER, SCHEME})
DISCUSSION_KINDS = frozenset({REPORT, WARNING, EXPLANATION, OPINION, RULES_NOTICE})

# The signal codes a post's stance itself contributes (registered in streams/core/signals.py).
OFFER_STANCE = "offer_stance"  # trading family
SCHEME_STANCE = "scheme_stance"  # fraud family

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "stance_model.json.gz"
MODEL_FORMAT = "tradewatch-stance/1"
MAX_ANALYSED_CHARS = 4000  # a post's head: offers say what they offer early; keeps cost linear
# A post with fewer features the model knows says too little to be read as an offer ("早安",
# "周末愉快！"): on so little text the model's guess sits near even odds, and a platform's
# daily greetings would add up to a reminder. The shortest offer in the corpus has 13.
MIN_OFFER_FEATURES = 12


class StanceModelError(ValueError):
    """The model file is missing or malformed; the message names the file."""


@dataclass(frozen=True, slots=True)
class Stance:
    """The speech act of one post, with the evidence for it."""

    kind: str  # one of STANCE_KINDS
    confidence: float  # the model's probability of ``kind``
    offer: float  # probability that the post is an offer or a scheme
    scheme: float  # probability that the post is a scheme
    sentence: str  # the sentence that weighs most for ``kind`` (at most 80 characters)
    cues: tuple[str, ...]  # the features that weigh most for ``kind`` in that sentence

    @property
    def is_offer(self) -> bool:
        return self.kind in OFFER_KINDS

    def explain(self) -> str:
        """One line for an action's reasons: kind, cues and the sentence."""
        cues = ", ".join(self.cues)
        return f"{self.kind} ({self.confidence:.2f}; {cues}): {self.sentence}"


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------
# Speech-act cues are grammar, not domain vocabulary: pronouns, imperatives, reported speech.
# Each regex runs on normalised text (lower case, NFKC, disguise separators removed).

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SENTENCE_RE = re.compile(r"[^。!?;\n]+[。!?;]*")
_LATIN_TOKEN_RE = re.compile(r"[a-z0-9][a-z0-9'._@/-]*")

def _lexicon(*items: str) -> frozenset[str]:
    """Cue words as the features they show up as: Han words of one or two characters as
    themselves, longer ones by their first pair, Latin words as ``w:word``."""
    out = set()
    for item in items:
        if item.isascii():
            out.add("w:" + item)
        else:
            out.add(item[:2])
    return frozenset(out)


# Lexical cues: present when the post has any of their features (a set test, no extra pass).
_LEXICAL_CUES: tuple[tuple[str, frozenset[str]], ...] = (
    # who speaks: the author as a party to the deal
    ("first_person", _lexicon("我们", "我司", "本平台", "我平台", "本店", "本站", "本号", "小编", "咱们", "我",
                              "we", "our", "us", "i", "i'm", "my", "me")),
    # to whom: the reader addressed
    ("second_person", _lexicon("你们", "您", "你", "大家", "各位", "家人们", "宝子", "老铁", "朋友们", "兄弟们",
                               "you", "your", "you're", "u")),
    # reported speech: someone else's words
    ("reported_speech", _lexicon("称", "表示", "指出", "宣称", "声称", "号称", "自称", "所谓", "打着", "为名",
                                 "为由", "报道", "said", "says", "claimed", "claims", "according",
                                 "reportedly", "so-called")),
    # the subject is someone else
    ("third_person", _lexicon("该平台", "这些", "某平台", "部分", "一些", "多家", "不少", "此类", "这类", "他们",
                              "她们", "对方", "不法分子", "骗子", "嫌疑人", "当事人", "投资者", "消费者", "they",
                              "their", "them", "these", "those", "platforms", "scammers", "investors")),
    ("question_word", _lexicon("吗", "呢", "是否", "能否", "为何", "如何", "whether", "why", "how")),
    ("warning_verb", _lexicon("警惕", "谨防", "提醒", "切勿", "小心", "防范", "当心", "beware", "warn",
                              "warning", "careful", "avoid")),
    ("forbid_verb", _lexicon("禁止", "严禁", "不得", "一经发现", "封禁", "处罚", "违规", "违法", "prohibit",
                             "prohibited", "banned", "ban", "illegal")),
)
# Structural cues: one small regex each.
_REGEX_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        # a concrete way to reach or pay someone
        ("contact_route", r"(?:v|vx|wx|q|qq|tg|微|薇|威|卫星|扣|群|电报|飞机|telegram|whatsapp|wechat)[^a-z0-9\n]{0,4}[a-z0-9_]*\d{3,}|@[a-z0-9_]{4,}"),
        ("link", r"https?:|www\.|\.(?:com|cn|net|io|xyz|top|vip|cc|app)(?![a-z])|h5"),
        ("wallet", r"0x[0-9a-f]{16,}|(?<![a-z0-9])t[1-9a-z]{30,}"),
        ("price", r"\d(?:\.\d+)?\s?(?:元|块|w|万|u|rmb|cny|usdt|eth|¥)|[¥$]\s?\d"),
        ("clock_time", r"\d{1,2}[:点]\d{0,2}|今晚|明晚|tonight|tomorrow"),
        ("quotation", r"[\"“”「」『』]"),
        ("question_mark", r"\?"),
        ("qa_layout", r"(?:^|\n)\s*(?:问|答|q|a)\s*:"),
        ("digits_run", r"\d{5,}"),
    )
)
# A call to action: a clause that starts with an imperative verb.
_CLAUSE_START_RE = re.compile(r"(?:^|(?<=[,!。:;?\n]))\s*([^\s,!。:;?\n]{1,2})")
_IMPERATIVE_STARTS = frozenset({
    "快", "速", "赶紧", "抓紧", "马上", "立即", "立刻", "欢迎", "来", "加", "扫", "点", "戳", "私", "找",
    "联系", "进", "上车", "冲", "私信", "私聊", "滴滴", "dm", "pm",
})
_IMPERATIVE_WORDS = frozenset({"dm", "join", "click", "add", "contact", "grab", "hurry", "buy", "sell",
                               "send", "message", "pm", "hit", "tap", "check", "get"})
_LATIN_CLAUSE_START_RE = re.compile(r"(?:^|(?<=[,!.:;?\n]))\s*([a-z]+)")


def _shape(token: str) -> str:
    """Latin tokens by shape: ids and numbers generalise ("abc123" and "xy9999" are both ids)."""
    token = token.rstrip(".'/-_@")  # a sentence's full stop is not part of its last word
    if token.isdigit():
        return "#num" if len(token) < 5 else "#digits"
    if any(ch.isdigit() for ch in token):
        return "#id"
    if "/" in token or (token.count(".") >= 1 and len(token) > 4):
        return "#url"
    return token


def sentences(normalised: str) -> list[str]:
    """Sentences of a normalised post, in order (clause-final punctuation kept)."""
    return [m.group().strip() for m in _SENTENCE_RE.finditer(normalised) if m.group().strip()]


_NON_HAN_RE = re.compile(f"[^{_HAN}]+")


# Quoted material: double quotation marks around at most 160 characters on one line. What a
# warning quotes (a scammer's pitch, a trader's handle) is not its author speaking, so its
# features are kept apart ("q:" + feature); 「」 and 『』 mostly frame names and are not quotes.
_QUOTE_RE = re.compile(r"[\"“]([^\"“”\n]{2,160})[\"”]|‘([^‘’\n]{2,160})’")


def features(normalised: str) -> set[str]:
    """The features of a normalised post: its author's own words as :func:`speaker_features`,
    and quoted material as the same features prefixed ``q:``."""
    quoted = [m.group(1) or m.group(2) for m in _QUOTE_RE.finditer(normalised)]
    if not quoted:
        return speaker_features(normalised)
    feats = speaker_features(_QUOTE_RE.sub(' " ', normalised))
    for part in quoted:
        feats.update(["q:" + feature for feature in speaker_features(part)])
    return feats


def speaker_features(normalised: str) -> set[str]:
    """The features of a piece of normalised text: speech-act cues, Han characters and
    character pairs, Latin words (by shape) and word pairs."""
    feats = {"cue:" + name for name, regex in _REGEX_CUES if regex.search(normalised) is not None}
    starts = _CLAUSE_START_RE.findall(normalised)
    if (any(start in _IMPERATIVE_STARTS or start[:1] in _IMPERATIVE_STARTS for start in starts)
            or any(word in _IMPERATIVE_WORDS for word in _LATIN_CLAUSE_START_RE.findall(normalised))):
        feats.add("cue:imperative")
    for run in _NON_HAN_RE.split(normalised):
        if run:
            feats.update(run)
            feats.update(map(str.__add__, run, run[1:]))
    words = [_shape(token) for token in _LATIN_TOKEN_RE.findall(normalised)]
    if words:
        feats.update(["w:" + word for word in words])
        feats.update([f"w:{a} {b}" for a, b in zip(words, words[1:])])
    feats.update(["cue:" + name for name, lexicon in _LEXICAL_CUES if not feats.isdisjoint(lexicon)])
    return feats


def normalised_post(title: str, text: str) -> str:
    """The text a stance is read from: title and body, normalised, at most the first
    :data:`MAX_ANALYSED_CHARS` characters."""
    return normalise(((title or "") + "\n" + (text or ""))[:MAX_ANALYSED_CHARS])


def post_features(title: str, text: str) -> set[str]:
    return features(normalised_post(title, text))


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


GATE_CLASSES = ("offer", "discussion")  # the gate's two classes: offer or scheme, or anything else


class Linear:
    """A linear classifier over sparse binary features (L2-normalised presence).

    Scoring sums each class's weights over a post's features. The sum must not depend on the
    order of a set (it changes with the process's hash seed, and a worker and replay must
    agree), so weights are held in fixed point, where integer addition is exact in any order,
    and all classes' weights of a feature are packed into one integer: a post costs one
    dictionary lookup and one addition per feature, whatever the number of classes."""

    def __init__(self, classes: tuple[str, ...], bias: Mapping[str, float],
                 weights: Mapping[str, Mapping[str, float]]) -> None:
        self.classes = classes
        self.bias = tuple(float(bias.get(c, 0.0)) for c in classes)
        self.weights = tuple(dict(weights.get(c, {})) for c in classes)
        self._nothing = _zero_weights(len(classes))  # a feature the model does not know
        self._packed = _pack(self.weights, self._nothing)

    def scores(self, features: Iterable[str], count: int | None = None) -> list[float]:
        """Linear scores per class. ``count`` is the number of features the input has when
        ``features`` holds only those the model knows (the scale is the whole input's)."""
        feats = features if isinstance(features, (set, frozenset, list, tuple)) else list(features)
        total = len(feats) if count is None else count
        scale = 1.0 / math.sqrt(total) if total else 0.0
        packed = sum(map(self._packed.get, feats, repeat(self._nothing)))
        offset = len(feats) * _OFFSET
        return [b + scale * ((((packed >> (_FIELD_BITS * i)) & _FIELD_MASK) - offset) / _FIXED_POINT)
                for i, b in enumerate(self.bias)]

    def probabilities(self, features: Iterable[str], count: int | None = None) -> list[float]:
        return _softmax(self.scores(features, count))

    def known(self) -> frozenset[str]:
        return frozenset().union(*self.weights)

    def to_mapping(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "bias": {c: round(b, 5) for c, b in zip(self.classes, self.bias)},
            "weights": {c: {f: round(w, 5) for f, w in sorted(ws.items())}
                        for c, ws in zip(self.classes, self.weights)},
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Linear:
        return cls(tuple(data["classes"]), data["bias"], data["weights"])


class StanceModel:
    """Two trained linear models over the same features: the *gate* (is the post an offer or
    a scheme?) decides whether its signals count; the *kind* model names the speech act."""

    def __init__(self, kind: Linear, gate: Linear, version: str) -> None:
        unknown = [k for k in kind.classes if k not in STANCE_KINDS]
        if unknown or len(set(kind.classes)) != len(kind.classes) or SCHEME not in kind.classes:
            raise StanceModelError(f"stance model: unknown or repeated kinds {unknown or list(kind.classes)}")
        if gate.classes != GATE_CLASSES:
            raise StanceModelError(f"stance model: the gate's classes must be {list(GATE_CLASSES)}")
        self.kind = kind
        self.gate = gate
        self.version = version
        # a post's features that no weight mentions add nothing but the scale: dropped at once
        self._known = kind.known() | gate.known()
        self._offer_kinds = [i for i, k in enumerate(kind.classes) if k in OFFER_KINDS]
        self._other_kinds = [i for i, k in enumerate(kind.classes) if k not in OFFER_KINDS]

    # -- loading ------------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path) -> StanceModel:
        return _load_model(str(path))

    @classmethod
    def default(cls) -> StanceModel:
        return _load_model(str(DEFAULT_MODEL_PATH))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<memory>") -> StanceModel:
        if not isinstance(data, Mapping) or data.get("format") != MODEL_FORMAT:
            raise StanceModelError(f"{source}: not a stance model (format {MODEL_FORMAT!r} expected)")
        try:
            return cls(Linear.from_mapping(data["kind"]), Linear.from_mapping(data["gate"]),
                       str(data.get("version", "?")))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StanceModelError(f"{source}: malformed stance model ({exc})") from None

    def to_mapping(self) -> dict[str, Any]:
        return {"format": MODEL_FORMAT, "version": self.version,
                "kind": self.kind.to_mapping(), "gate": self.gate.to_mapping()}

    @property
    def feature_count(self) -> int:
        return sum(len(w) for w in self.kind.weights + self.gate.weights)

    def classify(self, title: str, text: str) -> Stance:
        """The stance of a post; an offer's stance also says which sentence and cues show it."""
        return _classify(self, title or "", text or "", False)

    def explain(self, title: str, text: str) -> Stance:
        """The stance of a post with its evidence, whatever its kind."""
        return _classify(self, title or "", text or "", True)


_FIXED_POINT = 2**32  # a weight w is held as round(w * 2**32): exact to 1e-10
_OFFSET = 2**62  # added to every held weight so that no field of a packed sum goes negative
_FIELD_BITS = 96  # per class: room for 2**33 features of |w| < 2**29 each
_FIELD_MASK = (1 << _FIELD_BITS) - 1
_MAX_WEIGHT = 2.0**29


def _zero_weights(classes: int) -> int:
    """A weight of 0 for every class: each field holds just the offset."""
    return sum(_OFFSET << (_FIELD_BITS * i) for i in range(classes))


def _pack(weights: tuple[dict[str, float], ...], zero: int) -> dict[str, int]:
    """Every feature's weights for all classes in one integer, in fixed point, one field per
    class: each field starts at the offset (``zero``) and each class adds its weight in place."""
    packed = dict.fromkeys(frozenset().union(*weights), zero)
    for i, class_weights in enumerate(weights):
        for weight in class_weights.values():
            if not -_MAX_WEIGHT < weight < _MAX_WEIGHT:  # also refuses NaN
                raise ValueError(f"weight {weight!r} out of range")
        shift = _FIELD_BITS * i
        for feature, weight in class_weights.items():
            packed[feature] += round(weight * _FIXED_POINT) << shift
    return packed


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


@functools.lru_cache(maxsize=8192)
def _classify(model: StanceModel, title: str, text: str, explain: bool) -> Stance:
    # Accounts repeat posts (daily notices, reposted offers): the cache makes a repeat free.
    normalised = normalised_post(title, text)
    every = features(normalised)
    feats, count = every & model._known, len(every)
    probs = model.kind.probabilities(feats, count)
    # two models' readings of "offer or scheme", averaged: the gate trained for exactly
    # that question, and the kind model's probability mass on the offer kinds
    offer = (model.gate.probabilities(feats, count)[0] + sum(probs[i] for i in model._offer_kinds)) / 2
    if len(feats) < MIN_OFFER_FEATURES:
        offer = 0.0
    # the gate decides offer or not; the kind model names which kind of either
    candidates = model._offer_kinds if offer >= 0.5 else model._other_kinds
    best = max(candidates, key=probs.__getitem__)
    runner_up = max((i for i in range(len(probs)) if i != best), key=probs.__getitem__)
    kind = model.kind.classes[best]
    scheme = probs[model.kind.classes.index(SCHEME)]
    evidence = explain or kind in OFFER_KINDS  # only an offer's evidence is shown in actions
    sentence, cues = _evidence(model.kind, best, runner_up, normalised) if evidence else ("", ())
    return Stance(kind, round(probs[best], 4), round(offer, 4), round(scheme, 4), sentence, cues)


def _evidence(model: Linear, best: int, runner_up: int, normalised: str) -> tuple[str, tuple[str, ...]]:
    """The sentence whose features weigh most for class ``best`` against the runner-up, and
    its three strongest features."""
    own, other = model.weights[best], model.weights[runner_up]
    best_sentence, best_total, best_ranked = "", -math.inf, []
    for sentence in sentences(normalised):
        ranked = sorted(((own.get(f, 0.0) - other.get(f, 0.0), f) for f in features(sentence)), reverse=True)
        total = sum(m for m, _ in ranked if m > 0)
        if total > best_total:
            best_sentence, best_total, best_ranked = sentence, total, ranked
    cues = tuple(_display(f) for m, f in best_ranked[:3] if m > 0)
    if len(best_sentence) > 80:
        best_sentence = best_sentence[:77] + "..."
    return best_sentence, cues


def _display(feature: str) -> str:
    if feature.startswith("q:"):
        return "quoted " + _display(feature[2:])
    if feature.startswith("w:"):
        return feature[2:]
    return feature


@functools.lru_cache(maxsize=8)
def _load_model(path: str) -> StanceModel:
    try:
        raw = Path(path).read_bytes()
        if path.endswith(".gz"):
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise StanceModelError(f"stance model not found: {path}") from None
    except (OSError, EOFError) as exc:
        raise StanceModelError(f"stance model {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise StanceModelError(f"stance model {path}: not JSON ({exc})") from None
    return StanceModel.from_mapping(data, source=path)
