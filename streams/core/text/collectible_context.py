"""Collectible context: the nearer object decides what is being traded.

二级市场, 溢价, 转卖 are everyday words in stock commentary, second-hand shops, art auctions,
ticket resale and game-skin trading. A signal with scope ``near`` counts only if the nearest
collectible-context term (数字藏品, NFT, 上链 ...) lies within ``context_window`` characters AND
no other-market term (A股, 二手, 门票 ...) lies as close or closer; a tie goes to "not
collectibles" because a false accusation is worse than a miss. Scope ``post`` uses the same
comparison without the distance limit (USDT settlement or a buy-back promise anywhere in a
collectibles post is a signal). A post with no collectible context at all never counts.

Account context: a trading signal that fails this test while no other-market term lies within
``context_window`` is kept apart, not dropped: it counts when the account is known to be a
collectibles platform (the engine decides).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Collection, Mapping

from streams.core.text.candidate import ALIVE, CODE, END, START, Candidate


def gap_to_nearest(spans: list[tuple[int, int]], start: int, end: int) -> float:
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


def in_collectible_context(scope: str, start: int, end: int, collectible_at: list[tuple[int, int]],
                           other_at: list[tuple[int, int]], window: float) -> bool:
    """Nearest collectible cue within reach (scope ``near``) and strictly nearer than any
    other market."""
    to_collectible = gap_to_nearest(collectible_at, start, end)
    if scope == "near" and to_collectible > window:
        return False
    return to_collectible < gap_to_nearest(other_at, start, end)


def split_by_context(candidates: list[Candidate], scopes: Mapping[str, str],
                     collectible_at: list[tuple[int, int]], other_at: list[tuple[int, int]],
                     window: float, trading_codes: Collection[str]) -> tuple[list[Candidate], list[Candidate]]:
    """The live candidates that count in this post, and those (of ``trading_codes``) that
    wait for account context; every other candidate is dropped. Spans are in text order."""
    counted: list[Candidate] = []
    account_context: list[Candidate] = []
    for c in candidates:
        if not c[ALIVE]:
            continue
        start, end = c[START], c[END]
        if in_collectible_context(scopes[c[CODE]], start, end, collectible_at, other_at, window):
            counted.append(c)
        elif c[CODE] in trading_codes and gap_to_nearest(other_at, start, end) > window:
            account_context.append(c)
    return counted, account_context
