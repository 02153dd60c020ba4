"""Negation: negators cancel the signal terms after them, trailing negators the terms before them."""

from __future__ import annotations

import pytest

from streams.core.text.matching import TextMatcher
from streams.core.text.negation import leading_negation, trailing_negation
from tests.core.text.helpers import alive, candidate

WINDOW, LATIN_WINDOW, TRAILING_WINDOW = 14, 40, 12


def negator(start: int, end: int, *, clause: int = 0, sentence: int = 0, display: str = "不") -> tuple[int, int, int, int, str]:
    return (start, end, clause, sentence, display)


# --- leading negation, directly --------------------------------------------------------------


def test_negator_cancels_a_term_after_it_in_its_clause_within_the_window() -> None:
    terms = [candidate(3), candidate(2 + WINDOW), candidate(3 + WINDOW)]
    leading_negation(terms, [negator(0, 2)], WINDOW, LATIN_WINDOW)
    assert alive(terms) == [False, False, True]


def test_negator_does_not_reach_into_the_next_clause_or_back() -> None:
    terms = [candidate(0, 2), candidate(5, clause=1)]
    leading_negation(terms, [negator(2, 3)], WINDOW, LATIN_WINDOW)
    assert alive(terms) == [True, True]


def test_latin_negator_reaches_further_and_across_commas_but_not_sentences() -> None:
    terms = [candidate(30, clause=1), candidate(45, clause=2), candidate(50, clause=3, sentence=1)]
    leading_negation(terms, [negator(0, 6, display="do not")], WINDOW, LATIN_WINDOW)
    assert alive(terms) == [False, False, True]


def test_chinese_negator_does_not_reach_across_a_comma_within_a_sentence() -> None:
    terms = [candidate(5, clause=1)]
    leading_negation(terms, [negator(0, 1)], WINDOW, LATIN_WINDOW)
    assert alive(terms) == [True]


def test_the_nearest_negator_before_a_term_decides() -> None:
    # the Latin negator would reach the term; the Chinese one after it does not
    terms = [candidate(30)]
    leading_negation(terms, [negator(0, 3, display="not"), negator(5, 6)], WINDOW, LATIN_WINDOW)
    assert alive(terms) == [True]


def test_without_negators_nothing_is_cancelled() -> None:
    terms = [candidate(0), candidate(5)]
    leading_negation(terms, [], WINDOW, LATIN_WINDOW)
    assert alive(terms) == [True, True]


# --- trailing negation, directly -------------------------------------------------------------


def test_trailing_negator_cancels_terms_ending_just_before_it_in_its_clause() -> None:
    terms = [candidate(0, 4), candidate(6, 10), candidate(12, 14, clause=1)]
    trailing_negation(terms, [(4 + TRAILING_WINDOW, 0)], TRAILING_WINDOW)
    assert alive(terms) == [False, False, True]


def test_trailing_negator_does_not_reach_far_back_forward_or_into_another_clause() -> None:
    terms = [candidate(0, 4), candidate(20, 22, clause=1), candidate(30, 32, clause=1)]
    trailing_negation(terms, [(5 + TRAILING_WINDOW, 0), (25, 1)], TRAILING_WINDOW)
    assert alive(terms) == [True, False, True]


# --- through the matcher ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> TextMatcher:
    return TextMatcher.from_mapping({
        "collectible_context": ["藏品", "collectibles"],
        "negators": ["禁止", "do not"],
        "trailing_negators": ["暂不开放"],
        "neutral": ["禁止不了"],
        "trading_venue": {"terms": ["寄售", "resale", "consignment"]},
    })


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("藏品禁止寄售", False),
        ("藏品寄售，禁止", True),  # a negator after the term, in another clause
        ("藏品禁止，寄售", True),
        ("藏品寄售暂不开放", False),
        ("藏品寄售已开放，转让暂不开放", True),
        ("藏品禁止不了寄售", True),  # a neutral phrase absorbs the negator inside it
        ("we do not support resale, consignment of collectibles", False),
        ("we do not support collectibles. resale is open for collectibles", True),
    ],
)
def test_negation_decides_whether_a_term_counts(small: TextMatcher, text: str, counts: bool) -> None:
    assert bool(small.match("", text)) is counts


def test_negator_after_the_term_in_another_clause_does_not_cancel() -> None:
    hits = TextMatcher.default().match("", "数字藏品二级市场已开放，不要犹豫，别错过")
    assert "trading_venue" in {h.code for h in hits}


def test_compliance_notices_score_nothing() -> None:
    matcher = TextMatcher.default()
    assert matcher.match("", "本平台不开放二级市场，不支持转售，严禁私下交易。") == []
    assert matcher.match("", "数字藏品二级市场暂不开放，转售功能未开放。") == []
