"""Negation: a compliance notice uses a trading post's words with the opposite meaning.

"本平台不开放二级市场，严禁私下交易" names a secondary market in order to rule it out. A negator
(``negators``) cancels the signal terms that follow it in the same clause within
``negation_window`` characters; an English negator reaches ``latin_negation_window`` characters
and across commas, because English lists carry a negation along ("we do not support resale,
consignment, or ..."). A trailing negator ("二级市场暂不开放", "resale is not supported")
cancels the terms that precede it in the same clause within ``trailing_negation_window``.
Clauses end at 。！？；，,!?; and line breaks, so "二级市场已开放，不要错过" still counts (and
"不要错过" is listed under ``neutral``, which absorbs phrases that contain a negator but negate
nothing).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

from streams.core.text.candidate import ALIVE, CLAUSE, END, SENTENCE, START, Candidate
from streams.core.text.normalise import is_word_char

# A negator found in a post: (start, end, clause, sentence, display), in text order.
Negator = tuple[int, int, int, int, str]


def leading_negation(candidates: list[Candidate], negators: list[Negator],
                     window: float, latin_window: float) -> None:
    """Cancel every candidate that the nearest negator before it reaches.

    A negator reaches ``window`` characters past its end within its clause; a Latin-script
    negator (its first character a Latin letter or digit) reaches ``latin_window`` characters
    within its sentence. Both lists are in text order.
    """
    index, count = 0, len(negators)
    # the nearest negator so far: how far it reaches (an end plus a window setting) and where
    until: float = -1
    scope = -1
    latin = False
    next_start: float = negators[0][0] if negators else math.inf
    for candidate in candidates:
        start = candidate[START]
        if start > next_start:
            while index < count and negators[index][0] < start:
                index += 1
            _, end, clause, sentence, display = negators[index - 1]
            # a window in characters: Latin words are longer than Chinese ones
            latin = is_word_char(display[:1].lower())
            until = end + (latin_window if latin else window)
            scope = sentence if latin else clause
            next_start = negators[index][0] if index < count else math.inf
        if start <= until and scope == (candidate[SENTENCE] if latin else candidate[CLAUSE]):
            candidate[ALIVE] = False


def trailing_negation(candidates: list[Candidate], trailing: list[tuple[int, int]], window: float) -> None:
    """Cancel every candidate that ends at most ``window`` characters before a trailing negator
    in the same clause; ``trailing`` holds (start, clause) of each trailing negator."""
    # candidates are in text order, so their ends are ordered: each trailing negator
    # looks only at the candidates ending within its window before it
    ends = [c[END] for c in candidates]
    for neg_start, neg_clause in trailing:
        for index in range(bisect_left(ends, neg_start - window), bisect_right(ends, neg_start)):
            if candidates[index][CLAUSE] == neg_clause:
                candidates[index][ALIVE] = False
