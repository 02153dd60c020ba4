"""The stance gate: only offers and schemes contribute text signals."""

from __future__ import annotations

import pytest

from streams.core.post_signals import effective_hits
from streams.core.stance import DISCUSSION_KINDS, OFFER, OTHER_MARKET, PROMOTION, SCHEME, Stance
from tests.fixtures import FakeAnalysis, FakeHit

VOCABULARY_SAYS_TRADING = FakeAnalysis(
    [FakeHit("trading_venue"), FakeHit("off_platform_trade")], False,
    account_context_hits=(FakeHit("trading_venue"), FakeHit("price_speculation")),
)


def stance(kind: str, offer: float = 0.9) -> Stance:
    return Stance(kind, offer, offer, offer if kind == SCHEME else 0.0, "sentence", ("cue",))


@pytest.mark.parametrize("kind", sorted(DISCUSSION_KINDS) + [PROMOTION, OTHER_MARKET])
def test_a_post_that_does_not_offer_contributes_nothing_whatever_its_words(kind):
    assert effective_hits(VOCABULARY_SAYS_TRADING, stance(kind, offer=0.1), 0.5, True) == []


def test_an_offer_counts_its_stance_and_every_surviving_vocabulary_cue():
    hits = effective_hits(VOCABULARY_SAYS_TRADING, stance(OFFER), 0.5, False)
    assert [h.code for h in hits] == ["offer_stance", "trading_venue", "off_platform_trade"]
    assert hits[0].terms == ("cue",)


def test_an_offer_in_words_no_vocabulary_lists_still_counts_by_its_stance():
    assert [h.code for h in effective_hits(FakeAnalysis([], False), stance(OFFER), 0.5, False)] == ["offer_stance"]


def test_a_scheme_counts_as_fraud():
    assert effective_hits(FakeAnalysis([], False), stance(SCHEME), 0.5, False)[0].code == "scheme_stance"


def test_an_unsure_offer_does_not_pass_the_gate():
    assert effective_hits(VOCABULARY_SAYS_TRADING, stance(OFFER, offer=0.45), 0.5, True) == []


def test_cues_without_collectible_context_count_only_for_a_known_collectibles_platform():
    unknown = effective_hits(VOCABULARY_SAYS_TRADING, stance(OFFER), 0.5, False)
    platform = effective_hits(VOCABULARY_SAYS_TRADING, stance(OFFER), 0.5, True)
    assert {h.code for h in platform} - {h.code for h in unknown} == {"price_speculation"}


OFFER_NAMING_ANOTHER_MARKET = FakeAnalysis([], False, collectible=True, other_market=True)


def test_a_known_collectibles_platforms_offer_counts_although_it_names_another_market():
    # "出《鹿鸣》，支持同城面交或快递": the account runs collectibles, so delivery words do not
    # turn its offer into a second-hand sale
    hits = effective_hits(OFFER_NAMING_ANOTHER_MARKET, stance(OFFER), 0.5, True)
    assert [h.code for h in hits] == ["offer_stance"]


def test_anyone_elses_offer_naming_another_market_needs_a_cue_nearer_collectibles():
    # a phone shop's first-person sale that mentions NFT avatars in passing
    assert effective_hits(OFFER_NAMING_ANOTHER_MARKET, stance(OFFER), 0.5, False) == []
    nearer = FakeAnalysis([FakeHit("trading_venue")], False, collectible=True, other_market=True)
    assert [h.code for h in effective_hits(nearer, stance(OFFER), 0.5, False)] == ["offer_stance", "trading_venue"]
