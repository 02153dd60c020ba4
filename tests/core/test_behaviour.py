"""Behaviour signals: trading shows, allowed activity does not, memory stays small and exact."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from typing import Any

import orjson
import pytest

from streams.core.behaviour import (
    BEHAVIOUR_SIGNAL_CODES,
    BehaviourHit,
    BehaviourMemory,
    BehaviourParams,
    behaviour_signals,
)
from streams.core.events import MiniProgramEvent

T0 = 1_648_000_000.0  # late March 2022
HOUR = 3600.0
DAY = 86400.0
PARAMS = BehaviourParams()

_ids = itertools.count(1)


def mp_event(
    type: str,
    user: str,
    counterparty: str | None = None,
    at: float = T0,
    *,
    event_id: str | None = None,
    **fields: Any,
) -> MiniProgramEvent:
    """A mini-program event of the one subject account these tests look at."""
    return MiniProgramEvent(
        event_id=event_id or f"ev{next(_ids)}",
        app_id="wx0123456789abcdef",
        owner_account_id="gh_1a2b3c4d5e6f",
        occurred_at=at,
        type=type,
        user_id=user,
        counterparty_id=counterparty,
        **fields,
    )


def run(
    events: Iterable[MiniProgramEvent],
    memory: BehaviourMemory | None = None,
    params: BehaviourParams = PARAMS,
) -> tuple[list[list[BehaviourHit]], BehaviourMemory]:
    """Feed events in order; return the hits per event and the memory."""
    memory = memory if memory is not None else BehaviourMemory()
    per_event = []
    for event in events:
        hits = behaviour_signals(event, memory, params)
        codes = [hit.code for hit in hits]
        assert len(codes) == len(set(codes)), "each code at most once per event"
        assert all(hit.code in BEHAVIOUR_SIGNAL_CODES for hit in hits)
        assert all(hit.evidence and hit.evidence[0] == event.event_id for hit in hits)
        assert all(len(hit.evidence) <= 20 for hit in hits)
        per_event.append(hits)
    return per_event, memory


def codes_of(hits: list[BehaviourHit]) -> set[str]:
    return {hit.code for hit in hits}


def hit(hits: list[BehaviourHit], code: str) -> BehaviourHit:
    matching = [h for h in hits if h.code == code]
    assert matching, f"expected {code} in {hits}"
    return matching[0]


def all_codes(per_event: list[list[BehaviourHit]]) -> Counter:
    return Counter(h.code for hits in per_event for h in hits)


# -- allowed activity never scores ---------------------------------------------------------


def test_primary_sale_and_airdrop_do_not_score() -> None:
    per_event, memory = run(
        [
            mp_event("sale.primary", "alice", item_id="i1", price_cents=990, issue_price_cents=990),
            mp_event("airdrop", "bob", item_id="i2", at=T0 + 60),
        ]
    )
    assert per_event == [[], []]
    assert memory.is_empty()


def test_free_gift_after_lockup_without_payment_does_not_score() -> None:
    gift = mp_event("transfer.gift", "alice", "bob", item_id="i1", acquired_at=T0 - 2 * DAY)
    [hits], _ = run([gift])
    assert hits == []


def test_payment_alone_does_not_score() -> None:
    payment = mp_event("payment", "bob", "alice", item_id="i1", price_cents=990, issue_price_cents=990)
    [hits], _ = run([payment])
    assert hits == []


def test_listing_cancelled_does_not_score() -> None:
    [hits], _ = run([mp_event("listing.cancelled", "alice", item_id="i1", acquired_at=T0 - 60)])
    assert hits == []


# -- one-event signals --------------------------------------------------------------------


def test_every_listing_and_secondary_sale_scores() -> None:
    listing = mp_event("listing.created", "alice", item_id="i1", price_cents=2000)
    sale = mp_event("sale.secondary", "bob", "alice", at=T0 + 60, item_id="i1", price_cents=2000)
    (listing_hits, sale_hits), _ = run([listing, sale])
    assert hit(listing_hits, "secondary_listing").evidence == (listing.event_id,)
    assert hit(sale_hits, "secondary_sale").evidence == (sale.event_id,)
    assert "secondary_sale" not in codes_of(listing_hits)


def test_price_premium_at_or_above_ratio_only() -> None:
    at_ratio = mp_event("sale.secondary", "bob", "alice", item_id="i1", price_cents=3000, issue_price_cents=1000)
    below = mp_event("listing.created", "carol", item_id="i2", price_cents=2999, issue_price_cents=1000)
    tied_payment = mp_event("payment", "dave", "erin", item_id="i3", price_cents=99_000, issue_price_cents=990)
    free_issue = mp_event("listing.created", "fay", item_id="i4", price_cents=5000, issue_price_cents=0)
    primary = mp_event("sale.primary", "gus", item_id="i5", price_cents=5000, issue_price_cents=1000)
    per_event, _ = run([at_ratio, below, tied_payment, free_issue, primary])
    assert ["price_premium" in codes_of(hits) for hits in per_event] == [True, False, True, False, False]


def test_crypto_settlement_on_any_priced_event_case_insensitive() -> None:
    per_event, _ = run(
        [
            mp_event("sale.primary", "alice", item_id="i1", price_cents=100, currency="usdt"),
            mp_event("payment", "bob", "carol", price_cents=100, currency="ETH"),
            mp_event("listing.created", "dave", item_id="i2", price_cents=100, currency="CNY"),
            mp_event("airdrop", "erin", item_id="i3", currency="BTC"),  # no price: nothing settled
        ]
    )
    assert ["crypto_settlement" in codes_of(hits) for hits in per_event] == [True, True, False, False]


# -- paid transfers -------------------------------------------------------------------------


@pytest.mark.parametrize("payment_first", [False, True])
def test_gift_and_payment_back_pair_in_either_order(payment_first: bool) -> None:
    gift = mp_event("transfer.gift", "alice", "bob", at=T0, item_id="i1", acquired_at=T0 - 10 * DAY)
    payment = mp_event("payment", "bob", "alice", at=T0 + 600, price_cents=50_000)
    if payment_first:
        gift, payment = (
            mp_event("transfer.gift", "alice", "bob", at=T0 + 600, item_id="i1", acquired_at=T0 - 10 * DAY),
            mp_event("payment", "bob", "alice", at=T0, price_cents=50_000),
        )
        events = [payment, gift]
    else:
        events = [gift, payment]
    (first, second), _ = run(events)
    assert first == []
    assert set(hit(second, "paid_transfer").evidence) == {gift.event_id, payment.event_id}


def test_gift_and_payment_between_different_pairs_do_not_pair() -> None:
    per_event, _ = run(
        [
            mp_event("transfer.gift", "alice", "bob", item_id="i1"),
            mp_event("payment", "carol", "alice", at=T0 + 60, price_cents=50_000),  # carol, not bob, pays
            mp_event("payment", "bob", "dave", at=T0 + 120, price_cents=50_000),  # bob pays someone else
        ]
    )
    assert all_codes(per_event)["paid_transfer"] == 0


def test_payment_in_the_gift_direction_is_not_a_purchase() -> None:
    per_event, _ = run(
        [
            mp_event("transfer.gift", "alice", "bob", item_id="i1"),
            mp_event("payment", "alice", "bob", at=T0 + 60, price_cents=50_000),
        ]
    )
    assert all_codes(per_event)["paid_transfer"] == 0


def test_gift_and_payment_too_far_apart_do_not_pair() -> None:
    window = PARAMS.paid_transfer_window_s
    inside, _ = run(
        [
            mp_event("transfer.gift", "alice", "bob", item_id="i1"),
            mp_event("payment", "bob", "alice", at=T0 + window, price_cents=1),
        ]
    )
    outside, _ = run(
        [
            mp_event("transfer.gift", "alice", "bob", item_id="i1"),
            mp_event("payment", "bob", "alice", at=T0 + window + 1, price_cents=1),
        ]
    )
    assert all_codes(inside)["paid_transfer"] == 1
    assert all_codes(outside)["paid_transfer"] == 0


def test_payment_for_another_item_does_not_pair() -> None:
    per_event, _ = run(
        [
            mp_event("transfer.gift", "alice", "bob", item_id="i1"),
            mp_event("payment", "bob", "alice", at=T0 + 60, item_id="i2", price_cents=5000),
        ]
    )
    assert all_codes(per_event)["paid_transfer"] == 0


def test_each_gift_and_payment_pairs_only_once() -> None:
    gift_1 = mp_event("transfer.gift", "alice", "bob", at=T0, item_id="i1")
    gift_2 = mp_event("transfer.gift", "alice", "bob", at=T0 + 10, item_id="i2")
    pay_1 = mp_event("payment", "bob", "alice", at=T0 + 20, price_cents=100)
    pay_2 = mp_event("payment", "bob", "alice", at=T0 + 30, price_cents=100)
    pay_3 = mp_event("payment", "bob", "alice", at=T0 + 40, price_cents=100)
    per_event, _ = run([gift_1, gift_2, pay_1, pay_2, pay_3])
    paired = [set(hit(hits, "paid_transfer").evidence) for hits in per_event if "paid_transfer" in codes_of(hits)]
    assert paired == [{gift_1.event_id, pay_1.event_id}, {gift_2.event_id, pay_2.event_id}]


def test_redelivered_payment_does_not_pair_again() -> None:
    gift_1 = mp_event("transfer.gift", "alice", "bob", at=T0, item_id="i1")
    pay = mp_event("payment", "bob", "alice", at=T0 + 20, price_cents=100)
    gift_2 = mp_event("transfer.gift", "alice", "bob", at=T0 + 30, item_id="i2")
    per_event, _ = run([gift_1, pay, pay, gift_2])
    assert all_codes(per_event)["paid_transfer"] == 1


# -- holding periods --------------------------------------------------------------------------


def test_gift_inside_lockup_breaches_and_after_does_not() -> None:
    inside = mp_event("transfer.gift", "alice", "bob", item_id="i1", acquired_at=T0 - PARAMS.lockup_s + 1)
    after = mp_event("transfer.gift", "carol", "dave", item_id="i2", acquired_at=T0 - PARAMS.lockup_s)
    per_event, _ = run([inside, after])
    assert ["lockup_breach" in codes_of(hits) for hits in per_event] == [True, False]


def test_regift_of_an_item_received_moments_ago_breaches_lockup_from_memory() -> None:
    first = mp_event("transfer.gift", "alice", "bob", at=T0, item_id="i1", acquired_at=T0 - 30 * DAY)
    regift = mp_event("transfer.gift", "bob", "carol", at=T0 + HOUR, item_id="i1")
    (_, regift_hits), _ = run([first, regift])
    assert hit(regift_hits, "lockup_breach").evidence == (regift.event_id, first.event_id)


def test_listing_soon_after_acquisition_is_a_rapid_flip() -> None:
    quick = mp_event("listing.created", "alice", item_id="i1", acquired_at=T0 - HOUR, price_cents=1)
    slow = mp_event("listing.created", "bob", item_id="i2", acquired_at=T0 - 2 * DAY, price_cents=1)
    per_event, _ = run([quick, slow])
    assert ["rapid_flip" in codes_of(hits) for hits in per_event] == [True, False]


def test_resale_flip_is_the_sellers_not_the_buyers() -> None:
    # the buyer acquires at the sale itself: that is no flip
    buyer_time = mp_event("sale.secondary", "bob", "alice", item_id="i1", acquired_at=T0, price_cents=1)
    # an earlier acquired_at can only describe the seller's holding
    seller_quick = mp_event("sale.secondary", "dave", "carol", item_id="i2", acquired_at=T0 - HOUR, price_cents=1)
    seller_slow = mp_event("sale.secondary", "fay", "erin", item_id="i3", acquired_at=T0 - 3 * DAY, price_cents=1)
    per_event, _ = run([buyer_time, seller_quick, seller_slow])
    assert ["rapid_flip" in codes_of(hits) for hits in per_event] == [False, True, False]


def test_reselling_an_item_bought_in_memory_soon_after_is_a_rapid_flip() -> None:
    bought = mp_event("sale.secondary", "bob", "alice", at=T0, item_id="i1", price_cents=1000)
    resold = mp_event("sale.secondary", "carol", "bob", at=T0 + 2 * HOUR, item_id="i1", price_cents=3000)
    (_, resold_hits), _ = run([bought, resold])
    assert hit(resold_hits, "rapid_flip").evidence == (resold.event_id, bought.event_id)


# -- circulation and wash trading -------------------------------------------------------------


def _chain(users: list[str], item: str, start: float = T0, step: float = 2 * DAY, kind: str = "transfer.gift"):
    """The item passed along ``users`` in order, a hand change every ``step`` seconds."""
    events = []
    for index, (giver, receiver) in enumerate(zip(users, users[1:])):
        at = start + index * step
        if kind == "transfer.gift":
            events.append(mp_event(kind, giver, receiver, at=at, item_id=item, acquired_at=at - step))
        else:
            events.append(mp_event(kind, receiver, giver, at=at, item_id=item, price_cents=1000 * (index + 1)))
    return events


def test_item_changing_hands_often_is_multi_level_circulation() -> None:
    events = _chain(["a", "b", "c", "d"], "i1")
    per_event, _ = run(events)
    flagged = ["multi_level_circulation" in codes_of(hits) for hits in per_event]
    assert flagged == [False, False, True]
    assert set(hit(per_event[2], "multi_level_circulation").evidence) == {e.event_id for e in events}


def test_hand_changes_of_different_items_or_outside_the_window_do_not_add_up() -> None:
    spread = [
        mp_event("transfer.gift", "a", "b", at=T0, item_id="i1", acquired_at=T0 - 2 * DAY),
        mp_event("transfer.gift", "c", "d", at=T0 + DAY, item_id="i2", acquired_at=T0 - 2 * DAY),
        mp_event("transfer.gift", "e", "f", at=T0 + 2 * DAY, item_id="i3", acquired_at=T0 - 2 * DAY),
    ]
    slow = _chain(["a", "b", "c", "d"], "i9", step=PARAMS.memory_window_s / 2 + 1)
    assert all_codes(run(spread)[0])["multi_level_circulation"] == 0
    assert all_codes(run(slow)[0])["multi_level_circulation"] == 0


def test_item_back_to_its_seller_is_wash_trading() -> None:
    there = mp_event("sale.secondary", "bob", "alice", at=T0, item_id="i1", price_cents=1000)
    back = mp_event("sale.secondary", "alice", "bob", at=T0 + HOUR, item_id="i1", price_cents=2000)
    (there_hits, back_hits), _ = run([there, back])
    assert "wash_trading" not in codes_of(there_hits)
    assert hit(back_hits, "wash_trading").evidence == (back.event_id, there.event_id)


def test_small_cluster_cycle_at_rising_prices_is_wash_trading_with_all_legs() -> None:
    legs = _chain(["a", "b", "c", "a"], "i1", step=HOUR, kind="sale.secondary")
    per_event, _ = run(legs)
    assert [("wash_trading" in codes_of(hits)) for hits in per_event] == [False, False, True]
    assert set(hit(per_event[-1], "wash_trading").evidence) == {e.event_id for e in legs}


def test_one_way_chain_through_fresh_buyers_is_not_wash_trading() -> None:
    per_event, _ = run(_chain(["a", "b", "c", "d", "e"], "i1", step=HOUR, kind="sale.secondary"))
    assert all_codes(per_event)["wash_trading"] == 0


def test_redelivered_leg_is_not_a_cycle() -> None:
    leg = mp_event("sale.secondary", "bob", "alice", item_id="i1", price_cents=1000)
    per_event, _ = run([leg, leg])
    assert all_codes(per_event)["wash_trading"] == 0


# -- middlemen --------------------------------------------------------------------------------


def _paid_transfer(seller: str, buyer: str, at: float, item: str) -> list[MiniProgramEvent]:
    return [
        mp_event("transfer.gift", seller, buyer, at=at, item_id=item, acquired_at=at - 30 * DAY),
        mp_event("payment", buyer, seller, at=at + 60, price_cents=10_000),
    ]


def _middleman_fires(trades: list[tuple[str, str]], params: BehaviourParams = PARAMS) -> list[bool]:
    """Per paid transfer (seller, buyer), whether it made someone a middleman."""
    events = [e for n, (s, b) in enumerate(trades) for e in _paid_transfer(s, b, T0 + n * HOUR, f"i{n}")]
    per_event, _ = run(events, params=params)
    return ["middleman" in codes_of(hits) for hits in per_event[1::2]]


def test_middleman_fires_at_threshold_and_once_per_new_partner() -> None:
    trades = [("mid", "b1"), ("mid", "b2"), ("mid", "b1"), ("mid", "b3"), ("mid", "b3"), ("mid", "b4")]
    assert _middleman_fires(trades) == [False, False, False, True, False, True]


def test_middleman_counts_partners_on_both_sides_and_honours_threshold() -> None:
    trades = [("s1", "mid"), ("mid", "b1")]  # mid buys from one, sells to another
    assert _middleman_fires(trades) == [False, False]
    assert _middleman_fires(trades, BehaviourParams(middleman_min_pairs=2)) == [False, True]


def test_middleman_evidence_names_the_pairs() -> None:
    events = [e for n, b in enumerate(["b1", "b2", "b3"]) for e in _paid_transfer("mid", b, T0 + n * HOUR, f"i{n}")]
    per_event, _ = run(events)
    assert set(hit(per_event[-1], "middleman").evidence) == {e.event_id for e in events}


# -- withdrawals --------------------------------------------------------------------------------


def test_withdrawal_failures_hit_and_requests_do_not() -> None:
    events = [mp_event("withdrawal.requested", f"u{n}", at=T0 + n) for n in range(4)]
    events += [mp_event("withdrawal.failed", f"u{n}", at=T0 + 10 + n) for n in range(3)]
    per_event, memory = run(events)
    assert all_codes(per_event) == Counter({"withdrawal_failure": 3})
    assert memory.is_empty()  # counts and ratios live in the engine's windowed counters


# -- memory: expiry, bounds, size, serialisation --------------------------------------------------


def _busy_scenario() -> list[MiniProgramEvent]:
    """A mixed trading day and a half: chains, cycles, paid transfers, withdrawals."""
    events: list[MiniProgramEvent] = []
    events += _chain(["a", "b", "c", "a"], "i1", step=HOUR, kind="sale.secondary")
    for n, buyer in enumerate(["b1", "b2", "b3", "b4"]):
        events += _paid_transfer("mid", buyer, T0 + 4 * HOUR + n * 600, f"g{n}")
    events += _chain(["x", "y", "z", "w"], "i2", start=T0 + 8 * HOUR, step=HOUR)
    events.append(mp_event("transfer.gift", "p", "q", at=T0 + 20 * HOUR, item_id="i3"))  # waits for a payment
    events.append(mp_event("withdrawal.requested", "u1", at=T0 + 21 * HOUR))
    events.append(mp_event("payment", "q", "p", at=T0 + 20 * HOUR + 300, price_cents=100))
    events.append(mp_event("withdrawal.failed", "u1", at=T0 + 22 * HOUR))
    events += _chain(["a", "b"], "i1", start=T0 + 30 * HOUR, kind="sale.secondary")
    events.append(mp_event("sale.secondary", "c", "b", at=T0 + 31 * HOUR, item_id="i1", price_cents=9000))
    return events


def test_round_trip_mid_stream_gives_the_same_hits_and_state() -> None:
    events = _busy_scenario()
    straight_hits, straight = run(events)
    for cut in (len(events) // 3, len(events) // 2, len(events) - 3):
        first_hits, memory = run(events[:cut])
        restored = BehaviourMemory.from_dict(orjson.loads(orjson.dumps(memory.to_dict())))
        rest_hits, restored = run(events[cut:], restored)
        assert first_hits + rest_hits == straight_hits
        assert restored.to_dict() == straight.to_dict()
    assert len(all_codes(straight_hits)) >= 8  # the scenario exercises most signals


def test_same_events_give_same_hits_and_state() -> None:
    events = _busy_scenario()
    hits_1, memory_1 = run(events)
    hits_2, memory_2 = run(events)
    assert hits_1 == hits_2
    assert orjson.dumps(memory_1.to_dict()) == orjson.dumps(memory_2.to_dict())


def test_quiet_account_memory_is_tiny() -> None:
    _, memory = run([mp_event("sale.primary", "alice", item_id="i1", price_cents=990, issue_price_cents=990)])
    assert len(orjson.dumps(memory.to_dict())) <= 300
    _, memory = run([mp_event("transfer.gift", "alice", "bob", item_id="i1", acquired_at=T0 - 30 * DAY)])
    assert len(orjson.dumps(memory.to_dict())) <= 300


def test_expire_drops_everything_older_than_the_window() -> None:
    _, memory = run(_busy_scenario())
    assert not memory.is_empty()
    last = T0 + 31 * HOUR
    memory.expire(last + PARAMS.memory_window_s / 2, PARAMS)
    assert not memory.is_empty()  # the recent trading is still remembered
    memory.expire(last + PARAMS.memory_window_s + 1, PARAMS)
    assert memory.is_empty()
    assert memory.to_dict() == BehaviourMemory().to_dict()


def test_unpaired_gift_waits_only_while_it_could_still_pair() -> None:
    gift = mp_event("transfer.gift", "alice", "bob", at=T0, item_id="i1", acquired_at=T0 - 30 * DAY)
    _, memory = run([gift])
    assert memory.pending
    memory.expire(T0 + 3 * PARAMS.paid_transfer_window_s, PARAMS)
    assert not memory.pending
    assert memory.items  # the hand change itself is remembered for the whole window


def test_memory_stays_bounded_under_a_flood() -> None:
    params = BehaviourParams(max_items=200, max_pending=50, max_users=100)
    flood = []
    for n in range(1500):
        at = T0 + n
        flood.append(mp_event("transfer.gift", f"s{n}", f"b{n}", at=at, item_id=f"i{n}"))
        if n % 2 == 0:
            flood.append(mp_event("payment", f"b{n}", f"s{n}", at=at, price_cents=100))
    per_event, memory = run(flood, params=params)
    assert len(memory.items) <= params.max_items
    assert len(memory.pending) <= params.max_pending
    assert len(memory.users) <= params.max_users
    # the newest records are the ones kept
    assert "i1499" in memory.items and "i0" not in memory.items
    assert all_codes(per_event)["paid_transfer"] == 750


def test_one_item_traded_endlessly_keeps_bounded_evidence() -> None:
    legs = _chain([f"u{n}" for n in range(200)], "i1", step=60, kind="sale.secondary")
    per_event, memory = run(legs)
    assert len(memory.items["i1"]) <= 20
    assert len(hit(per_event[-1], "multi_level_circulation").evidence) == 20


# -- parameters ----------------------------------------------------------------------------------


def test_params_from_mapping_accepts_known_keys() -> None:
    params = BehaviourParams.from_mapping({"lockup_s": 3600, "premium_ratio": 5.5, "middleman_min_pairs": 4})
    assert params.lockup_s == 3600.0 and isinstance(params.lockup_s, float)
    assert params.premium_ratio == 5.5
    assert params.middleman_min_pairs == 4
    assert params.rapid_flip_s == BehaviourParams().rapid_flip_s


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"lock_up_s": 3600}, "lock_up_s"),
        ({"lockup_s": "24h"}, "lockup_s"),
        ({"premium_ratio": -1}, "premium_ratio"),
        ({"middleman_min_pairs": 2.5}, "middleman_min_pairs"),
        ({"max_items": True}, "max_items"),
        ({"memory_window_s": float("nan")}, "memory_window_s"),
    ],
)
def test_params_from_mapping_errors_name_the_key(mapping: dict, key: str) -> None:
    with pytest.raises(ValueError, match=rf"^behaviour\.{key}: "):
        BehaviourParams.from_mapping(mapping)


def test_unknown_key_error_lists_allowed_keys() -> None:
    with pytest.raises(ValueError, match="lockup_s"):
        BehaviourParams.from_mapping({"typo": 1})
