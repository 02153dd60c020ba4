"""Text signals: which trading or fraud cues a post's title and body carry.

The vocabulary is data (``streams/data/vocabulary.toml``); this module only normalises text,
finds every vocabulary term in ONE regex pass (a trie-shaped alternation of all literals; the
handful of regex patterns for handles and wallet addresses run as their own passes) and
applies the context rules that keep news, regulators, compliance notices and other markets
from ever scoring. Weights and thresholds belong to the scorer: a :class:`TextHit` only says
which code matched, how often, and with which terms (for the explanation in an action).

Context rules, in the order they are applied (each is tunable in the vocabulary's
``[settings]``):

1. **Negation** (``negators`` before a term, ``trailing_negators`` after it). A compliance
   notice uses the same words as a trading post, with the opposite meaning: "本平台不开放二级
   市场，严禁私下交易". A negator cancels the signal terms that follow it in the same clause
   within ``negation_window`` characters; a trailing negator ("二级市场暂不开放", "resale is not
   supported") cancels the terms that precede it in the same clause within
   ``trailing_negation_window``. Clauses end at 。！？；，,!?; and line breaks, so
   "二级市场已开放，不要错过" still counts (and "不要错过" is listed under ``neutral``, which
   absorbs phrases that contain a negator but negate nothing). ``business_contact`` cues
   ("商务合作", "客服", "官方群") cancel a following contact handle the same way: every account
   lists one for business enquiries or its community, which is not an off-platform trade.
2. **Collectible context and other markets.** 二级市场, 溢价, 转卖 are everyday words in stock
   commentary, second-hand shops, art auctions, ticket resale and game-skin trading. A signal
   with scope ``near`` counts only if the nearest collectible-context term (数字藏品, NFT, 上链
   ...) lies within ``context_window`` characters AND no other-market term (A股, 二手, 门票 ...)
   lies as close or closer: the nearer object decides what is being traded, and a tie goes to
   "not collectibles" because a false accusation is worse than a miss. Scope ``post`` uses the
   same comparison without the distance limit (USDT settlement or a buy-back promise anywhere
   in a collectibles post is a signal). A post with no collectible context at all never counts.
3. **Reporting and regulation.** A news story about the March 2022 suspensions uses every
   trading word. If the post reads as reporting, ALL its signals are cancelled. To stop a
   trading platform from buying a pass with one "监管" or a boilerplate "风险提示", reporting
   has to dominate: the score (distinct reporting cues, each counting ``reporting_title_weight``
   when it appears in the title, because a headline frames the whole post) must reach
   ``reporting_min_score`` AND ``reporting_ratio`` times the number of distinct trading terms
   that survived rules 1–2. Distinct terms, not repetitions, so stuffing one word does not
   help. A post that carries a concrete contact handle or wallet address (a pattern marked
   ``solicits``) never gets the pass: news and regulators do not print a way to pay someone.
   Reporting talks *about* platforms in the third person; trading posts *address* buyers
   (本平台, 我们, 快来, 立即, 上架, "join", "list your"): a post with no ``solicitation`` cue
   needs only ``reporting_unsolicited_score`` reporting cues to count as reporting, while a
   post that solicits must pass the stricter dominance test above.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tomllib
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEXT_SIGNAL_CODES: tuple[str, ...] = (
    "trading_venue",
    "price_speculation",
    "off_platform_trade",
    "crypto_settlement",
    "split_ownership",
    "fraud_promise",
    "fraud_aftermath",
    "primary_promotion",
)

DEFAULT_VOCABULARY_PATH = Path(__file__).resolve().parent.parent / "data" / "vocabulary.toml"

# Context lists (top-level keys of the vocabulary) and what they do; see the module docstring.
COLLECTIBLE = "collectible_context"
REPORTING = "reporting_context"
NEGATOR = "negators"
TRAILING_NEGATOR = "trailing_negators"
OTHER_MARKET = "other_markets"
NEUTRAL = "neutral"
BUSINESS_CONTACT = "business_contact"
SOLICITATION = "solicitation"
CONTEXT_LISTS: tuple[str, ...] = (
    COLLECTIBLE, REPORTING, NEGATOR, TRAILING_NEGATOR, OTHER_MARKET, NEUTRAL, BUSINESS_CONTACT,
    SOLICITATION,
)
_BREAK = "clause_break"  # internal role of 。，!? etc.
_SIGNAL_ROLES = frozenset(TEXT_SIGNAL_CODES)
_ROLES = _SIGNAL_ROLES | frozenset(CONTEXT_LISTS)
_SCOPES = ("near", "post")
# Codes whose distinct terms weigh against reporting cues (promotion is allowed business).
_TRADING_WEIGHT_CODES = _SIGNAL_ROLES - {"primary_promotion"}

_DEFAULT_SETTINGS: dict[str, float] = {
    "context_window": 60,
    "negation_window": 14,
    "latin_negation_window": 40,
    "trailing_negation_window": 12,
    "reporting_min_score": 3,
    "reporting_unsolicited_score": 2,
    "reporting_title_weight": 2,
    "reporting_ratio": 0.75,
    "max_terms_per_hit": 5,
}
_INT_SETTINGS = frozenset({"context_window", "negation_window", "latin_negation_window",
                           "trailing_negation_window", "max_terms_per_hit"})
_TOP_LEVEL_KEYS = _SIGNAL_ROLES | frozenset(CONTEXT_LISTS) | {
    "settings", "patterns", "version", "description"}


@dataclass(frozen=True, slots=True)
class TextHit:
    """One signal code found in a post."""

    code: str  # one of TEXT_SIGNAL_CODES
    count: int  # counted (not cancelled) matches of this code in the post, >= 1
    terms: tuple[str, ...]  # matched terms as written in the vocabulary, at most 5


@dataclass(frozen=True, slots=True)
class PostAnalysis:
    hits: list[TextHit]
    reporting: bool  # the post reads as news, regulation or a warning (its signals were cancelled)
    collectible: bool = False  # the post itself talks about digital collectibles
    other_market: bool = False  # the post talks about another market (stocks, second-hand, art ...)
    # Signals that lack collectible context only in this post (no other market nearby either):
    # they count when the account is known to be a collectibles platform (the engine decides).
    account_context_hits: list[TextHit] = field(default_factory=list)


class VocabularyError(ValueError):
    """The vocabulary is malformed; the message names the offending key."""


# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
# Clause breaks (after NFKC): they bound negation scope, so they are never removed as disguise
# separators. A full stop counts only when followed by a space ("no. 1" vs "1.5").
_BREAK_CHARS = "。!?;,\n"
_BREAK_TERMS = tuple(_BREAK_CHARS) + (". ",)
_INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u20e3\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]+"
)


def _separator_class() -> str:
    """A regex class of characters posters put inside words to hide them from filters.

    Whitespace, punctuation (except clause breaks and 、), symbols and emoji: computed from
    Unicode categories once, over the blocks where such characters live, so normalising stays
    a few C-level regex passes instead of a per-character Python loop.
    """
    blocks = [(0x20, 0x7F), (0xA0, 0x2BFF), (0x2E00, 0x2E7F), (0x3000, 0x303F),
              (0xFE10, 0xFE6F), (0xFF00, 0xFFEF)]
    # quotation marks are kept: they tell a mention ("保本回购"是骗局) from an offer
    keep = set(_BREAK_CHARS) | set("，！？；") | {"、"} | set("\u201c\u201d\u300c\u300d\u300e\u300f()")
    members: list[int] = []
    for low, high in blocks:
        for cp in range(low, high + 1):
            ch = chr(cp)
            if ch in keep:
                continue
            cat = unicodedata.category(ch)
            if cat[0] in "PSZ" or cat in ("Cf", "Co") or (ch.isspace() and ch != "\n"):
                members.append(cp)
    ranges: list[str] = []
    start = prev = members[0]
    for cp in members[1:] + [-1]:
        if cp == prev + 1:
            prev = cp
            continue
        ranges.append(re.escape(chr(start)) if start == prev
                      else f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
        start = prev = cp
    # Emoji planes as one range: the regex engine tests non-BMP ranges one by one, so many
    # small ranges there would make every character check slow.
    return "[" + "".join(ranges) + "\U0001f000-\U0001faff]"


_SEP = _separator_class()
# Separators between two Han characters, or between Han and a Latin letter/digit: "二 级 市 场",
# "二*级", "数❤藏", "薇❤ abc123". Between two Latin words a space is meaningful and stays.
_HAN_SEPARATOR_RE = re.compile(
    f"(?<=[{_HAN}]){_SEP}+(?=[{_HAN}a-z0-9])|(?<=[a-z0-9]){_SEP}+(?=[{_HAN}])"
)
# Single Han characters split by commas: "二，级，市，场" (three or more, never a real sentence).
_SPACED_HAN_RE = re.compile(f"(?<![{_HAN}])[{_HAN}](?:[,、.。]+[{_HAN}]){{2,}}(?![{_HAN}])")
# Single Latin letters/digits split by separators: "u s d t", "n.f.t".
_SPACED_LATIN_RE = re.compile(
    f"[a-z0-9](?<![a-z0-9]..)(?:{_SEP}+[a-z0-9]){{2,}}(?![a-z0-9])")
# Full-width forms are the only NFKC change most Chinese posts need; replacing just them and
# checking is_normalized is several times faster than a full NFKC of every post.
_FULLWIDTH_RE = re.compile("[\u3000\uff01-\uff5e]+")
_NON_WORD_RE = re.compile(f"[^{_HAN}a-z0-9]+")
_LATIN_HYPHEN_RE = re.compile(r"[-_](?<=[a-z].)[-_]*(?=[a-z])")
_SPACES_RE = re.compile(r"[^\S\n]+")


def _nfkc_match(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group())


def _strip_non_word(match: re.Match[str]) -> str:
    return _NON_WORD_RE.sub("", match.group())


_TONE_MARKED_RE = re.compile("[\u00c0-\u024f\u1e00-\u1eff]")


def _strip_marks(letter: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", letter) if not unicodedata.combining(c))


def normalise(text: str) -> str:
    """Return the form all matching runs on.

    NFKC (full-width → ASCII), lower case, invisible characters removed, curly apostrophes
    straightened, disguise separators inside CJK words removed, letter-by-letter spellings
    collapsed, hyphens inside English compounds turned into spaces ("buy-back" = "buy back"),
    whitespace runs collapsed. Clause breaks (。，!? and line breaks) are kept.
    """
    text = _FULLWIDTH_RE.sub(_nfkc_match, text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE_RE.sub("", text.lower())
    if _TONE_MARKED_RE.search(text):  # pinyin with tone marks ("jì售") reads as plain letters
        text = _TONE_MARKED_RE.sub(lambda m: _strip_marks(m.group()), text)
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = _HAN_SEPARATOR_RE.sub("", text)
    text = _SPACED_HAN_RE.sub(_strip_non_word, text)
    text = _SPACED_LATIN_RE.sub(_strip_non_word, text)
    if "-" in text or "_" in text:
        text = _LATIN_HYPHEN_RE.sub(" ", text)
    return _SPACES_RE.sub(" ", text)


@functools.lru_cache(maxsize=4096)
def _normalised_title(title: str) -> str:
    """:func:`normalise` of a post title: accounts reuse a few titles ("新品上线", "空投")."""
    return normalise(title)


# ---------------------------------------------------------------------------------------------
# Vocabulary compilation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    """What one literal term or pattern means: the roles it plays and how to show it."""

    display: str
    roles: frozenset[str]
    solicits: bool = False


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# Characters most frequent in Chinese text, then English letters by frequency: the trie's first
# level is tried in this order, and the regex engine checks alternatives one by one.
_FREQUENT_FIRST = (
    "，。,、的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于"
    "着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小"
    "部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又"
    "关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月"
    "话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口"
    "认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直"
    "德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思"
    "王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候"
    "带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存"
    "未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病"
    "息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧"
    "阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半"
    "节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型"
    "料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千"
    "值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰"
    "etaoinshrdlcumwfgypbvkjxqz0123456789"
)
_FREQUENT_RANK = {ch: rank for rank, ch in enumerate(_FREQUENT_FIRST)}


def _trie_regex(terms: list[str], group_size: int = 64) -> str:
    """One regex for many literals, factored as a trie so each position costs one branch per
    character instead of one per term; greedy, so the longest term at a position wins.

    Shaped for CPython's regex engine: every top-level alternative starts with a plain
    character, so the engine can skip positions no term starts at, and the first level is
    ordered by character frequency. Latin words match whole words only ("no" not in "now"):
    a look-behind after the first character and a look-ahead at the end of the term.
    """
    root: dict[str, Any] = {}
    for term in terms:
        node = root
        for ch in term:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict[str, Any], last_char: str) -> str:
        branches = [re.escape(ch) + build(child, ch)
                    for ch, child in sorted(node.items()) if ch != ""]
        if "" in node:
            end = "(?![a-z0-9])" if _is_word_char(last_char) else ""
            return "(?:" + "|".join(branches + [end]) + ")" if branches else end
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    first_level = sorted((ch for ch in root if ch != ""),
                         key=lambda ch: (_FREQUENT_RANK.get(ch, len(_FREQUENT_RANK)), ch))
    alternatives = []
    for ch in first_level:
        guard = "(?<![a-z0-9].)" if _is_word_char(ch) else ""
        alternatives.append(re.escape(ch) + guard + build(root[ch], ch))
    if len(alternatives) <= group_size:
        return "|".join(alternatives)
    # Hundreds of first characters (the CJK trie): the engine would try them one by one at
    # every position that starts a term. In groups of group_size, each behind a look-ahead
    # for its first characters, a position tries one look-ahead per group and then one
    # group. Each alternative starts with its own first character, so at most one of them
    # can match at a position, wherever it is listed: the matches are the same. The outer
    # look-ahead lets positions that start no term fail at once.
    groups = []
    for index in range(0, len(alternatives), group_size):
        chars = first_level[index:index + group_size]
        groups.append(f"(?={_char_class(chars)})(?:{'|'.join(alternatives[index:index + group_size])})")
    return f"(?={_char_class(first_level)})(?:{'|'.join(groups)})"


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(re.escape(ch) for ch in chars) + "]"


def _string_list(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise VocabularyError(f"{key}: must be a list of strings")
    return value


def _settings(raw: Any) -> dict[str, float]:
    if raw is None:
        return dict(_DEFAULT_SETTINGS)
    if not isinstance(raw, Mapping):
        raise VocabularyError("vocabulary.settings: must be a table")
    settings = dict(_DEFAULT_SETTINGS)
    for name, value in raw.items():
        key = f"vocabulary.settings.{name}"
        if name not in _DEFAULT_SETTINGS:
            raise VocabularyError(f"{key}: unknown setting")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise VocabularyError(f"{key}: must be a non-negative number")
        if name in _INT_SETTINGS and not isinstance(value, int):
            raise VocabularyError(f"{key}: must be an integer")
        settings[name] = value
    if settings["max_terms_per_hit"] < 1:
        raise VocabularyError("vocabulary.settings.max_terms_per_hit: must be at least 1")
    return settings


def _compile_pattern(item: Any, key: str) -> tuple[re.Pattern[str], _Entry]:
    if not isinstance(item, Mapping):
        raise VocabularyError(f"{key}: must be a table")
    for name in item:
        if name not in ("name", "role", "regex", "solicits"):
            raise VocabularyError(f"{key}.{name}: unknown key")
    name, role, source = item.get("name"), item.get("role"), item.get("regex")
    solicits = item.get("solicits", False)
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise VocabularyError(f"{key}.name: must be a lower-case identifier")
    if role not in _ROLES:
        raise VocabularyError(f"{key}.role: must be a signal code or a context list name")
    if not isinstance(source, str) or not source:
        raise VocabularyError(f"{key}.regex: must be a non-empty string")
    if not isinstance(solicits, bool):
        raise VocabularyError(f"{key}.solicits: must be true or false")
    try:
        compiled = re.compile(source)
    except re.error as exc:
        raise VocabularyError(f"{key}.regex: {exc}") from exc
    if compiled.match(""):
        raise VocabularyError(f"{key}.regex: must not match the empty string")
    return compiled, _Entry(name, frozenset({role}), solicits)


class TextMatcher:
    """Finds text signals in posts with a compiled vocabulary; immutable and thread-safe."""

    def __init__(self, literal_regexes: tuple[re.Pattern[str], ...], literals: dict[str, _Entry],
                 patterns: tuple[tuple[re.Pattern[str], _Entry], ...], scopes: dict[str, str],
                 settings: dict[str, float]) -> None:
        self._literal_regexes = literal_regexes
        self._literals = literals
        self._patterns = patterns
        self._scopes = scopes
        self._settings = settings

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TextMatcher:
        """Load a TOML vocabulary; a syntax error is reported as a VocabularyError.

        The same content compiles once per process (a matcher is immutable): every
        ``Detector`` and every replay would otherwise compile it again (~20 ms)."""
        with open(path, "rb") as handle:
            raw = handle.read()
        # a class is hashable, but mypy does not take type[TextMatcher] for the Hashable
        # that lru_cache's arguments must be (python/mypy#20409); it does take a plain type
        matcher_class: type = cls
        return _compiled_vocabulary(matcher_class, raw, str(path))

    @classmethod
    def default(cls) -> TextMatcher:
        """The vocabulary shipped with the package (loaded and compiled once per process)."""
        return _default_matcher()

    @classmethod
    def from_mapping(cls, vocabulary: Mapping[str, Any]) -> TextMatcher:
        """Validate a parsed vocabulary and compile it; errors name the offending key."""
        if not isinstance(vocabulary, Mapping):
            raise VocabularyError("vocabulary: must be a table")
        for name in vocabulary:
            if name not in _TOP_LEVEL_KEYS:
                raise VocabularyError(f"vocabulary.{name}: unknown key")
        settings = _settings(vocabulary.get("settings"))

        roles_by_term: dict[str, set[str]] = {}
        display_by_term: dict[str, str] = {}

        def add_terms(raw_terms: list[str], role: str, key: str) -> None:
            for index, raw in enumerate(raw_terms):
                term = normalise(raw).strip()
                if not term:
                    raise VocabularyError(f"{key}[{index}]: empty after normalisation")
                if term in _BREAK_TERMS:
                    raise VocabularyError(f"{key}[{index}]: a clause break cannot be a term")
                roles_by_term.setdefault(term, set()).add(role)
                display_by_term.setdefault(term, raw)

        scopes: dict[str, str] = {}
        for code in TEXT_SIGNAL_CODES:
            table = vocabulary.get(code, {})
            key = f"vocabulary.{code}"
            if not isinstance(table, Mapping):
                raise VocabularyError(f"{key}: must be a table with 'terms'")
            for name in table:
                if name not in ("terms", "scope"):
                    raise VocabularyError(f"{key}.{name}: unknown key")
            add_terms(_string_list(table.get("terms", []), f"{key}.terms"), code, f"{key}.terms")
            scope = table.get("scope", "near")
            if scope not in _SCOPES:
                raise VocabularyError(f"{key}.scope: must be one of {', '.join(_SCOPES)}")
            scopes[code] = scope

        for role in CONTEXT_LISTS:
            key = f"vocabulary.{role}"
            add_terms(_string_list(vocabulary.get(role, []), key), role, key)

        raw_patterns = vocabulary.get("patterns", [])
        if not isinstance(raw_patterns, list):
            raise VocabularyError("vocabulary.patterns: must be an array of tables")
        patterns = tuple(_compile_pattern(item, f"vocabulary.patterns[{index}]")
                         for index, item in enumerate(raw_patterns))

        # A signal term that contains a collectible word ("藏品交易", "新系列") hides that word
        # from the longest-first match, so it carries the collectible context itself.
        collectible_terms = [t for t, roles in roles_by_term.items() if COLLECTIBLE in roles]
        for term, roles in roles_by_term.items():
            if (COLLECTIBLE not in roles and roles & _SIGNAL_ROLES
                    and any(inner in term for inner in collectible_terms)):
                roles.add(COLLECTIBLE)
        literals = {term: _Entry(display_by_term[term], frozenset(roles))
                    for term, roles in roles_by_term.items()}
        for term in _BREAK_TERMS:
            literals[term] = _Entry(term, frozenset({_BREAK}))
        # Two tries, by the script of the first character: a Latin letter can start a term at
        # almost every position of English text, and mixing those alternatives into the CJK
        # trie would make every Chinese character pay for them.
        latin = [term for term in literals if _is_word_char(term[0])]
        other = [term for term in literals if not _is_word_char(term[0])]
        literal_regexes = tuple(re.compile(_trie_regex(terms)) for terms in (other, latin) if terms)
        return cls(literal_regexes, literals, patterns, scopes, settings)

    # -----------------------------------------------------------------------------------------

    def _scan(self, text: str) -> list[tuple[int, int, _Entry]]:
        """All vocabulary matches in text order, leftmost-longest and non-overlapping, as one
        alternation would give. A pattern match (a handle, an address) wins over the literals
        inside it, as the more specific reading; clause breaks always survive."""
        literals = self._literals
        regexes = self._literal_regexes
        found = [(m.start(), m.end(), literals[m.group()]) for m in regexes[0].finditer(text)]
        for regex in regexes[1:]:
            found.extend((m.start(), m.end(), literals[m.group()]) for m in regex.finditer(text))
        # most posts match no pattern: a search that finds nothing is cheaper than finditer
        pattern_hits = [(m.start(), m.end(), entry)
                        for regex, entry in self._patterns if regex.search(text) is not None
                        for m in regex.finditer(text)]
        if len(regexes) == 1 and not pattern_hits:
            return found
        found = _leftmost_longest(found)
        if not pattern_hits:
            return found
        pattern_hits = _leftmost_longest(pattern_hits)  # ordered and non-overlapping
        starts = [p[0] for p in pattern_hits]

        def inside_pattern(hit: tuple[int, int, _Entry]) -> bool:
            # the last pattern starting before the hit ends is the only one that can overlap
            # it (patterns do not overlap each other): a bisect, not a scan of every pattern
            index = bisect_left(starts, hit[1]) - 1
            return index >= 0 and hit[0] < pattern_hits[index][1]

        kept = [hit for hit in found if _BREAK in hit[2].roles or not inside_pattern(hit)]
        return sorted(kept + pattern_hits, key=lambda hit: hit[0])

    def match(self, title: str, text: str) -> list[TextHit]:
        """Signals in a post, in TEXT_SIGNAL_CODES order; empty for news, notices and
        posts about other markets (see the module docstring for the rules)."""
        return self.analyse(title, text).hits

    def analyse(self, title: str, text: str) -> PostAnalysis:
        """The signals of a post, and whether it reads as reporting (the editorial voice).

        ``reporting`` is also set for news without any trading word: the engine counts such
        posts per account, because an account that mostly reports is a news account.
        """
        title_norm = _normalised_title(title or "")
        joined = title_norm + "\n" + normalise(text or "")
        title_end = len(title_norm)
        settings = self._settings
        negation_window = settings["negation_window"]
        latin_negation_window = settings["latin_negation_window"]
        scopes = self._scopes
        solicited = False

        collectible_at: list[tuple[int, int]] = []  # spans, in text order
        other_at: list[tuple[int, int]] = []
        reporting_weight: dict[str, float] = {}
        trailing: list[tuple[int, int]] = []  # (start, clause)
        # candidate: [code, display, start, end, clause, alive, solicits]
        candidates: list[list[Any]] = []
        clause = sentence = 0
        # how far the last negator and business contact reach: an end plus a window setting (float)
        negated_until: float = -1
        business_until: float = -1
        negated_clause = business_clause = -1
        negated_by_latin = False

        for start, end, entry in self._scan(joined):
            for role in entry.roles:
                if role == _BREAK:
                    clause += 1
                    if entry.display != ",":
                        sentence += 1
                elif role in scopes:
                    # English lists ("we do not support resale, consignment, or ...") carry a
                    # negation across commas; Chinese clauses end at the comma
                    scope_now = sentence if negated_by_latin else clause
                    alive = not (negated_clause == scope_now and start <= negated_until)
                    if alive and role == "off_platform_trade":
                        alive = not (business_clause == clause and start <= business_until)
                    candidates.append([role, entry.display, start, end, clause, alive,
                                       entry.solicits])
                elif role == COLLECTIBLE:
                    collectible_at.append((start, end))
                elif role == OTHER_MARKET:
                    other_at.append((start, end))
                elif role == NEGATOR:
                    # a window in characters: Latin words are longer than Chinese ones
                    negated_by_latin = _is_word_char(entry.display[:1].lower())
                    reach = latin_negation_window if negated_by_latin else negation_window
                    negated_clause = sentence if negated_by_latin else clause
                    negated_until = end + reach
                elif role == SOLICITATION:
                    solicited = True
                elif role == TRAILING_NEGATOR:
                    trailing.append((start, clause))
                elif role == REPORTING:
                    weight = settings["reporting_title_weight"] if start < title_end else 1
                    if weight > reporting_weight.get(entry.display, 0):
                        reporting_weight[entry.display] = weight
                elif role == BUSINESS_CONTACT:
                    business_clause, business_until = clause, end + negation_window
                # NEUTRAL: matched only so that it absorbs the negator inside it.
        score = sum(reporting_weight.values())
        if score or negated_clause >= 0:
            # use vs mention: in a post that reports, warns or negates, a term in quotation
            # marks is being talked about ("保本回购"是圈套), not offered
            quoted = sorted(_quoted_spans(joined))
            if quoted:
                quote_starts = [qs for qs, _ in quoted]
                for candidate in candidates:
                    # a span holding the candidate starts at most _MAX_QUOTE chars before it
                    low = bisect_left(quote_starts, candidate[2] - _MAX_QUOTE)
                    high = bisect_right(quote_starts, candidate[2])
                    if any(candidate[3] <= quoted[i][1] for i in range(low, high)):
                        candidate[5] = False
        soliciting = any(c[6] for c in candidates if c[5])

        def reads_as_reporting(trading_terms: int) -> bool:
            if not score:
                return False
            if soliciting:  # a live handle or wallet (not in quotes) means business
                return False
            if not solicited and score >= settings["reporting_unsolicited_score"]:
                return True
            return score >= settings["reporting_min_score"] and score >= settings["reporting_ratio"] * trading_terms

        if not candidates:
            return PostAnalysis([], reads_as_reporting(0), bool(collectible_at), bool(other_at))

        trailing_window = settings["trailing_negation_window"]
        if trailing:
            # candidates are in text order, so their ends are ordered: each trailing negator
            # looks only at the candidates ending within its window before it
            ends = [c[3] for c in candidates]
            for neg_start, neg_clause in trailing:
                for index in range(bisect_left(ends, neg_start - trailing_window), bisect_right(ends, neg_start)):
                    if candidates[index][4] == neg_clause:
                        candidates[index][5] = False

        window = settings["context_window"]
        counted, contextless = [], []
        for c in candidates:
            if not c[5]:
                continue
            if self._in_collectible_context(c, collectible_at, other_at, window):
                counted.append(c)
            elif c[0] in _TRADING_WEIGHT_CODES and _gap_to_nearest(other_at, c[2], c[3]) > window:
                contextless.append(c)
        trading_terms = {c[1] for c in counted + contextless if c[0] in _TRADING_WEIGHT_CODES}
        if reads_as_reporting(len(trading_terms)):
            return PostAnalysis([], True, bool(collectible_at), bool(other_at))

        max_terms = int(settings["max_terms_per_hit"])
        return PostAnalysis(_hits(counted, max_terms), False, bool(collectible_at), bool(other_at),
                            _hits(contextless, max_terms))

    def _in_collectible_context(self, candidate: list[Any],
                                collectible_at: list[tuple[int, int]],
                                other_at: list[tuple[int, int]], window: float) -> bool:
        """Nearest collectible cue within reach and strictly nearer than any other market."""
        start, end = candidate[2], candidate[3]
        to_collectible = _gap_to_nearest(collectible_at, start, end)
        if self._scopes[candidate[0]] == "near" and to_collectible > window:
            return False
        return to_collectible < _gap_to_nearest(other_at, start, end)


def _hits(candidates: list[list[Any]], max_terms: int) -> list[TextHit]:
    counts: dict[str, int] = {}
    terms: dict[str, list[str]] = {}
    for c in candidates:
        counts[c[0]] = counts.get(c[0], 0) + 1
        shown = terms.setdefault(c[0], [])
        if c[1] not in shown and len(shown) < max_terms:
            shown.append(c[1])
    return [TextHit(code, counts[code], tuple(terms[code])) for code in TEXT_SIGNAL_CODES if code in counts]


# quotation marks, and parentheses that give examples: "（如q群：12345678）"
_QUOTE_PAIRS = {"\u201c": "\u201d", "\u300c": "\u300d", "\u300e": "\u300f", '"': '"', "\u2018": "\u2019",
                "(如": ")", "(例如": ")", "(比如": ")", "(e.g.": ")"}


_MAX_QUOTE = 41  # a quoted span is at most this long (longer "quotes" are prose between marks)


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """Spans inside quotation marks (“…”, 「…」, 『…』, "…") or example parentheses, at most 40
    characters long."""
    spans = []
    for opening, closing in _QUOTE_PAIRS.items():
        start = text.find(opening)
        while start != -1:
            end = text.find(closing, start + 1)
            if end == -1:
                break
            if end - start <= _MAX_QUOTE:
                spans.append((start + len(opening), end))
            start = text.find(opening, end + 1)
    return spans


def _leftmost_longest(hits: list[tuple[int, int, _Entry]]) -> list[tuple[int, int, _Entry]]:
    """Drop hits that overlap an earlier (or equally early but longer) hit."""
    hits.sort(key=lambda hit: (hit[0], -hit[1]))
    kept: list[tuple[int, int, _Entry]] = []
    reach = -1
    for hit in hits:
        if hit[0] >= reach:
            kept.append(hit)
            reach = hit[1]
    return kept


def _gap_to_nearest(spans: list[tuple[int, int]], start: int, end: int) -> float:
    """Characters between [start, end) and the closest of the ordered spans (inf if none)."""
    if not spans:
        return math.inf
    index = bisect_left(spans, (start, -1))
    best = math.inf
    if index < len(spans):  # first span starting at or after the term
        best = max(0, spans[index][0] - end)
    if index > 0:  # last span starting before the term
        best = min(best, max(0, start - spans[index - 1][1]))
    return best


@functools.lru_cache(maxsize=16)
def _compiled_vocabulary(cls: type[TextMatcher], raw: bytes, path: str) -> TextMatcher:
    try:
        data = tomllib.loads(raw.decode())  # as tomllib.load does
    except tomllib.TOMLDecodeError as exc:
        raise VocabularyError(f"vocabulary ({path}): invalid TOML: {exc}") from exc
    return cls.from_mapping(data)


@functools.cache
def _default_matcher() -> TextMatcher:
    return TextMatcher.from_file(DEFAULT_VOCABULARY_PATH)
