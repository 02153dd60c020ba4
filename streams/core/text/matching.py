"""Vocabulary matching: which signal codes a post's title and text carry, after the context rules.

The vocabulary is data (``streams/data/vocabulary.toml``); :class:`TextMatcher` validates and
compiles it, finds every term in ONE regex pass (a trie-shaped alternation of all literals; the
handful of regex patterns for handles and wallet addresses run as their own passes) and applies
the context rules that keep news, regulators, compliance notices and other markets from ever
scoring, in this order (each tunable in the vocabulary's ``[settings]``):

1. negation and business contacts (:mod:`~streams.core.text.negation`,
   :mod:`~streams.core.text.business_contact`), then quoted mentions in posts that report or
   negate (:mod:`~streams.core.text.quotation`);
2. trailing negation, then collectible context and other markets, with account context for
   the rest (:mod:`~streams.core.text.collectible_context`);
3. reporting, which cancels every signal of a post (:mod:`~streams.core.text.reporting`).

Weights and thresholds belong to the scorer: a :class:`TextHit` only says which code matched,
how often, and with which terms (for the explanation in an action).
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.core.signals import ACTIVITY_CODES, TEXT_SIGNAL_CODES
from streams.core.text.business_contact import business_contact
from streams.core.text.candidate import ALIVE, CODE, DISPLAY, SOLICITS, Candidate
from streams.core.text.collectible_context import split_by_context
from streams.core.text.negation import Negator, leading_negation, trailing_negation
from streams.core.text.normalise import BREAK_TERMS, is_word_char, normalise, normalised_title
from streams.core.text.quotation import quoted_mentions
from streams.core.text.reporting import reads_as_reporting, reporting_score
from streams.core.text.trie import trie_regex

DEFAULT_VOCABULARY_PATH = Path(__file__).resolve().parents[2] / "data" / "vocabulary.toml"

# Context lists (top-level keys of the vocabulary); the rule modules say what they do.
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
_TRADING_WEIGHT_CODES = _SIGNAL_ROLES & ACTIVITY_CODES  # not first-hand promotion

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


@dataclass(frozen=True, slots=True)
class _Entry:
    """What one literal term or pattern means: the roles it plays and how to show it."""

    display: str
    roles: frozenset[str]
    solicits: bool = False


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
                if term in BREAK_TERMS:
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
        for term in BREAK_TERMS:
            literals[term] = _Entry(term, frozenset({_BREAK}))
        # Two tries, by the script of the first character: a Latin letter can start a term at
        # almost every position of English text, and mixing those alternatives into the CJK
        # trie would make every Chinese character pay for them.
        latin = [term for term in literals if is_word_char(term[0])]
        other = [term for term in literals if not is_word_char(term[0])]
        literal_regexes = tuple(re.compile(trie_regex(terms)) for terms in (other, latin) if terms)
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
        title_norm = normalised_title(title or "")
        joined = title_norm + "\n" + normalise(text or "")
        title_end = len(title_norm)
        settings = self._settings
        scopes = self._scopes
        solicited = False

        collectible_at: list[tuple[int, int]] = []  # spans, in text order
        other_at: list[tuple[int, int]] = []
        negators: list[Negator] = []
        trailing: list[tuple[int, int]] = []  # (start, clause)
        contacts: list[tuple[int, int, int]] = []  # business contacts: (start, end, clause)
        reporting_cues: list[tuple[int, str]] = []  # (start, display)
        candidates: list[Candidate] = []  # in text order; fields in streams.core.text.candidate
        clause = sentence = 0

        for start, end, entry in self._scan(joined):
            for role in entry.roles:
                if role == _BREAK:
                    clause += 1
                    if entry.display != ",":
                        sentence += 1
                elif role in scopes:
                    candidates.append([role, entry.display, start, end, clause, True, entry.solicits,
                                       sentence])
                elif role == COLLECTIBLE:
                    collectible_at.append((start, end))
                elif role == OTHER_MARKET:
                    other_at.append((start, end))
                elif role == NEGATOR:
                    negators.append((start, end, clause, sentence, entry.display))
                elif role == SOLICITATION:
                    solicited = True
                elif role == TRAILING_NEGATOR:
                    trailing.append((start, clause))
                elif role == REPORTING:
                    reporting_cues.append((start, entry.display))
                elif role == BUSINESS_CONTACT:
                    contacts.append((start, end, clause))
                # NEUTRAL: matched only so that it absorbs the negator inside it.
        if negators:
            leading_negation(candidates, negators, settings["negation_window"],
                             settings["latin_negation_window"])
        if contacts:
            business_contact(candidates, contacts, settings["negation_window"])
        score = reporting_score(reporting_cues, title_end, settings["reporting_title_weight"])
        if candidates and (score or negators):
            # use vs mention: only a post that reports, warns or negates talks about terms
            quoted_mentions(joined, candidates)
        soliciting = any(c[SOLICITS] for c in candidates if c[ALIVE])

        if not candidates:
            return PostAnalysis([], reads_as_reporting(score, 0, soliciting=soliciting, solicited=solicited,
                                                       settings=settings),
                                bool(collectible_at), bool(other_at))

        if trailing:
            trailing_negation(candidates, trailing, settings["trailing_negation_window"])

        window = settings["context_window"]
        counted, contextless = split_by_context(candidates, scopes, collectible_at, other_at, window,
                                                _TRADING_WEIGHT_CODES)
        trading_terms = {c[DISPLAY] for c in counted + contextless if c[CODE] in _TRADING_WEIGHT_CODES}
        if reads_as_reporting(score, len(trading_terms), soliciting=soliciting, solicited=solicited,
                              settings=settings):
            return PostAnalysis([], True, bool(collectible_at), bool(other_at))

        max_terms = int(settings["max_terms_per_hit"])
        return PostAnalysis(_hits(counted, max_terms), False, bool(collectible_at), bool(other_at),
                            _hits(contextless, max_terms))


def _hits(candidates: list[Candidate], max_terms: int) -> list[TextHit]:
    counts: dict[str, int] = {}
    terms: dict[str, list[str]] = {}
    for c in candidates:
        counts[c[CODE]] = counts.get(c[CODE], 0) + 1
        shown = terms.setdefault(c[CODE], [])
        if c[DISPLAY] not in shown and len(shown) < max_terms:
            shown.append(c[DISPLAY])
    return [TextHit(code, counts[code], tuple(terms[code])) for code in TEXT_SIGNAL_CODES if code in counts]


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
