"""Quotation: in a post that reports, warns or negates, a quoted term is talked about, not offered."""

from __future__ import annotations

import pytest

from streams.core.text.matching import TextMatcher
from streams.core.text.normalise import normalise
from streams.core.text.quotation import quoted_mentions, quoted_spans
from tests.core.text.helpers import alive, candidate


def test_quoted_spans_cover_quotation_marks_and_example_parentheses() -> None:
    text = normalise("“保本回购”「寄售」(如q群:12345678)")
    assert sorted(text[start:end] for start, end in quoted_spans(text)) == ["q群12345678", "保本回购", "寄售"]


def test_long_or_unclosed_quotes_are_prose_not_mentions() -> None:
    assert quoted_spans("“" + "字" * 41 + "”") == []
    assert quoted_spans("“保本回购") == []
    assert quoted_spans("“" + "字" * 40 + "”") == [(1, 41)]


def test_quoted_candidate_is_cancelled_and_others_are_not() -> None:
    text = "平台“寄售”是骗局,寄售"
    terms = [candidate(3, 5), candidate(10, 12), candidate(1, 5)]  # inside, outside, across the mark
    quoted_mentions(text, terms)
    assert alive(terms) == [False, True, True]


@pytest.fixture(scope="module")
def small() -> TextMatcher:
    return TextMatcher.from_mapping({
        "collectible_context": ["藏品"],
        "negators": ["不"],
        "reporting_context": ["警方"],
        "fraud_promise": {"terms": ["保本回购"], "scope": "post"},
    })


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("藏品“保本回购”火热", True),  # the rule applies only to posts that report or negate
        ("藏品“保本回购”是圈套，警方提醒", False),
        ("藏品保本回购，警方提醒", True),
        ("藏品“保本回购”不可信", False),
    ],
)
def test_quotes_decide_only_in_posts_that_report_or_negate(small: TextMatcher, text: str, counts: bool) -> None:
    assert bool(small.match("", text)) is counts
