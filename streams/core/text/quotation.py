"""Quotation: a term in quotation marks is being talked about, not offered.

A warning that says "保本回购"是圈套 or a notice that gives an example "（如q群：12345678）" names
the scheme it warns against. In a post that reports, warns or negates (the matcher decides when
to apply this rule), a signal term inside quotation marks or example parentheses is cancelled.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from streams.core.text.candidate import ALIVE, END, START, Candidate

# quotation marks, and parentheses that give examples: "（如q群：12345678）"
_QUOTE_PAIRS = {"\u201c": "\u201d", "\u300c": "\u300d", "\u300e": "\u300f", '"': '"', "\u2018": "\u2019",
                "(如": ")", "(例如": ")", "(比如": ")", "(e.g.": ")"}


_MAX_QUOTE = 41  # a quoted span is at most this long (longer "quotes" are prose between marks)


def quoted_spans(text: str) -> list[tuple[int, int]]:
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


def quoted_mentions(text: str, candidates: list[Candidate]) -> None:
    """Cancel every candidate that lies inside a quoted span of ``text`` (normalised)."""
    quoted = sorted(quoted_spans(text))
    if quoted:
        quote_starts = [qs for qs, _ in quoted]
        for candidate in candidates:
            # a span holding the candidate starts at most _MAX_QUOTE chars before it
            low = bisect_left(quote_starts, candidate[START] - _MAX_QUOTE)
            high = bisect_right(quote_starts, candidate[START])
            if any(candidate[END] <= quoted[i][1] for i in range(low, high)):
                candidate[ALIVE] = False
