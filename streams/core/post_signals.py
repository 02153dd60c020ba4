"""Which of a post's text signals count: the stance gate.

Two independent readings of a post meet here: the vocabulary (:mod:`streams.core.text.matching`: which
trading and fraud cues it carries, with the context rules for negation, other markets and
reporting) and the stance (:mod:`stance`: whether the post offers trading or runs a scheme, or
only talks about it). The rule is the domain's: **an account is acted on for trading it
offers or runs, never for trading it reports, explains, warns about, condemns or forbids.**

- A post whose stance is not an offer or a scheme (with at least the policy's
  ``stance.min_offer_probability``) contributes no signal at all, whatever words it uses.
- An offer contributes ``offer_stance`` (a scheme: ``scheme_stance``) — the stance is a signal
  of its own, so an offer in words no vocabulary lists still counts — plus every vocabulary
  cue that survived the context rules (the detail a reviewer reads: venue, crypto, contact).
- What is offered must be a digital collectible: the account is already known to run a
  collectibles platform (its posts and mini programs show it), or the post names
  collectibles; a post from anyone else that also names another market counts only where the
  vocabulary places a trading cue nearer to collectibles than to that market. A second-hand phone, a coin or a concert
  ticket offered in the first person is an offer, and none of tradewatch's business.
- Vocabulary cues that lack collectible context in the post itself count only for an account
  already known to run a collectibles platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from streams.core.stance import OFFER_STANCE, SCHEME, SCHEME_STANCE, Stance


class _Hit(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def terms(self) -> tuple[str, ...]: ...


class _Analysis(Protocol):
    @property
    def hits(self) -> Sequence[_Hit]: ...
    @property
    def account_context_hits(self) -> Sequence[_Hit]: ...
    @property
    def collectible(self) -> bool: ...
    @property
    def other_market(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class StanceHit:
    """The stance as a signal: the code, and the cues that showed it (as TextHit has)."""

    code: str
    count: int
    terms: tuple[str, ...]


def counts_as_offer(stance: Stance, min_offer: float) -> bool:
    """The gate: the post offers trading or runs a scheme, with enough confidence."""
    return stance.is_offer and stance.offer >= min_offer


def about_collectibles(analysis: _Analysis, collectibles_platform: bool) -> bool:
    """What is offered is a digital collectible: it comes from a known collectibles platform
    (an account judged over all its posts and mini programs to be mostly about collectibles:
    its offers are its business, whatever else a post mentions — a fund, a game, delivery),
    or the post names collectibles. When a post from anyone else also names another market
    (a coin, a ticket, a share), the vocabulary's nearest-object rule decides: some trading
    or fraud cue must lie nearer to collectible context than to the other market."""
    if collectibles_platform:
        return True
    if analysis.other_market:
        return bool(analysis.hits)
    return analysis.collectible


def effective_hits(analysis: _Analysis, stance: Stance, min_offer: float,
                   collectibles_platform: bool) -> list[_Hit]:
    """The signals a post contributes to its account's counters (see the module docstring)."""
    if not counts_as_offer(stance, min_offer) or not about_collectibles(analysis, collectibles_platform):
        return []
    code = SCHEME_STANCE if stance.kind == SCHEME else OFFER_STANCE
    hits: list[_Hit] = [StanceHit(code, 1, stance.cues)]
    hits.extend(analysis.hits)
    if collectibles_platform and analysis.account_context_hits:
        seen = {hit.code for hit in analysis.hits}
        hits.extend(hit for hit in analysis.account_context_hits if hit.code not in seen)
    return hits
