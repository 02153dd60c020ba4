"""Business contacts: a contact handle after "商务合作", "客服" or "官方群" is not a trade.

Every account lists a WeChat or QQ handle for business enquiries or its community; only a
handle offered for trading is an off-platform trade. A ``business_contact`` cue cancels the
off-platform-trade terms that follow it in the same clause within ``negation_window`` characters.
"""

from __future__ import annotations

import math

from streams.core.text.candidate import ALIVE, CLAUSE, CODE, START, Candidate

OFF_PLATFORM_TRADE = "off_platform_trade"


def business_contact(candidates: list[Candidate], contacts: list[tuple[int, int, int]], window: float) -> None:
    """Cancel every off-platform-trade candidate that the nearest business-contact cue before
    it reaches; ``contacts`` holds (start, end, clause) of each cue, in text order."""
    index, count = 0, len(contacts)
    until: float = -1
    contact_clause = -1
    next_start: float = contacts[0][0] if contacts else math.inf
    for candidate in candidates:
        if candidate[CODE] != OFF_PLATFORM_TRADE:
            continue
        start = candidate[START]
        if start > next_start:
            while index < count and contacts[index][0] < start:
                index += 1
            _, end, contact_clause = contacts[index - 1]
            until = end + window
            next_start = contacts[index][0] if index < count else math.inf
        if start <= until and candidate[CLAUSE] == contact_clause:
            candidate[ALIVE] = False
