"""Behaviour signals: what users of a subject's mini programs *do* that shows trading or fraud.

Text can talk about trading; events show it. This module turns one
``miniprogram.events.v1`` event at a time into zero or more :class:`BehaviourHit` codes,
using a small per-subject :class:`BehaviourMemory` for the signals that need history
(paired gift + payment, an item changing hands, middlemen).

Design choices (and why):

* **Precision first.** Primary sales, airdrops, a payment on its own and a single free gift
  after the holding period never score: they are what the platform allows.
* **Paid transfer = a sale in disguise.** A ``transfer.gift`` A→B and a ``payment`` B→A
  (the receiver pays the giver), in either order within ``paid_transfer_window_s``. A payment
  in the same direction as the gift is not a purchase and does not pair. When both events
  name an ``item_id`` they must name the same one. Each gift/payment pairs at most once
  (earliest eligible partner first, so replays are deterministic).
* **Hand changes** are ``sale.secondary`` (``counterparty_id`` → ``user_id``) and
  ``transfer.gift`` (``user_id`` → ``counterparty_id``). They feed multi-level circulation,
  wash cycles and the "when did this holder get it" fallback for lock-up and flip checks.
  Primary sales and airdrops are *not* remembered, so quiet accounts stay tiny.
* **Rapid flip on a resale** is the *seller's* flip: in ``sale.secondary`` the buyer is
  ``user_id`` and acquires the item at ``occurred_at``, so the seller's holding time comes from
  the leg in memory that brought the item to the seller, else from ``acquired_at`` when it is
  strictly earlier than ``occurred_at`` (the buyer's own acquisition *is* the sale, so an earlier
  time can only describe the seller's). ``acquired_at == occurred_at`` never flips.
  A hold that would be negative (acquired after the event) is inconsistent data and never hits.
* **Wash trading** fires when an item returns to someone who held it earlier in the memory
  window: the receiver held it before (A→B→A, A→B→C→A), or the sender had already passed it on
  once (the return leg was not seen). A small cluster passing one item around must revisit a
  holder once it has made as many passes as it has members, so this also covers "≤ 4 users at
  rising prices"; a one-way chain through fresh buyers is ``multi_level_circulation`` instead.
* **Cheap and bounded.** Per event: dict lookups plus scans of one item's legs (≤ 20 or the
  multi-level threshold) and one user's partners. Records sit in insertion-ordered dicts in
  touch order; caps evict the least recently touched, :meth:`BehaviourMemory.expire` pops from
  the front. Lookups ignore anything older than the window, so (within the caps) hits do not
  depend on how often ``expire`` is called; stale legs inside a still-live record go when it
  is next touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from streams.core.events import (
    LISTING_CREATED,
    PAYMENT,
    SALE_SECONDARY,
    TRANSFER_GIFT,
    WITHDRAWAL_FAILED,
    MiniProgramEvent,
)
from streams.core.signals import BEHAVIOUR_SIGNAL_CODES

CRYPTO_CURRENCIES = frozenset({"USDT", "ETH", "BTC"})
MAX_EVIDENCE = 20  # the actions contract allows at most 20 ids per reason
_PREMIUM_TYPES = frozenset({SALE_SECONDARY, LISTING_CREATED, PAYMENT})
_GIFT, _PAY = "g", "p"
_MEMORY_FORMAT = 1


@dataclass(frozen=True, slots=True)
class BehaviourHit:
    """One signal shown by one event; ``evidence`` starts with that event's id."""

    code: str
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BehaviourParams:
    """Thresholds for the behaviour signals; loaded from the policy's ``[behaviour]`` table."""

    paid_transfer_window_s: float = 1800
    lockup_s: float = 86400
    rapid_flip_s: float = 86400
    premium_ratio: float = 3.0
    multi_level_min_transfers: int = 3
    middleman_min_pairs: int = 3
    memory_window_s: float = 7 * 86400
    max_items: int = 2000
    max_pending: int = 500
    max_users: int = 2000

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> BehaviourParams:
        """Build from a policy table; an unknown key or a bad value names the key, so a typo
        in the policy file fails loudly instead of silently using a default."""
        allowed = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in m.items():
            if key not in allowed:
                raise ValueError(
                    f"behaviour.{key}: unknown key; allowed keys: {', '.join(allowed)}"
                )
            if allowed[key].type in ("int", int):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"behaviour.{key}: must be an integer >= 1, got {value!r}")
            else:
                if (
                    isinstance(value, bool)
                    or not isinstance(value, (int, float))
                    or not math.isfinite(value)
                    or value <= 0
                ):
                    raise ValueError(
                        f"behaviour.{key}: must be a finite number > 0, got {value!r}"
                    )
                value = float(value)
            values[key] = value
        return cls(**values)


class BehaviourMemory:
    """Per subject account (the owner official account), bounded, serialisable.

    * ``items``: item id → legs ``[event_id, from_user, to_user, at, price_or_-1]`` (sorted by
      time, at most ``max(20, multi_level_min_transfers)``), for hand changes only.
    * ``pending``: event id → ``[kind, seller, buyer, at, item]`` for gifts/payments still
      waiting for their other half; ``_pending_by_trade`` indexes them by (seller, buyer, kind).
    * ``users``: user id → partner → ``[at, gift_id, payment_id]`` of paid transfers.

    Missing users/items are stored as ``""`` so that the serialised form has no nulls.
    """

    __slots__ = ("items", "pending", "users", "_pending_by_trade")

    def __init__(self) -> None:
        self.items: dict[str, list[list[Any]]] = {}
        self.pending: dict[str, list[Any]] = {}
        self.users: dict[str, dict[str, list[Any]]] = {}
        self._pending_by_trade: dict[tuple[str, str, str], list[str]] = {}

    # -- serialisation ---------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Compact, order-preserving form (order matters: it is the eviction order)."""
        out: dict[str, Any] = {"v": _MEMORY_FORMAT}
        if self.items:
            out["items"] = [[item, [list(leg) for leg in legs]] for item, legs in self.items.items()]
        if self.pending:
            out["pending"] = [[event_id, *entry] for event_id, entry in self.pending.items()]
        if self.users:
            out["users"] = [
                [user, [[partner, *pair] for partner, pair in partners.items()]]
                for user, partners in self.users.items()
            ]
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> BehaviourMemory:
        version = d.get("v", _MEMORY_FORMAT)
        if version != _MEMORY_FORMAT:
            raise ValueError(f"behaviour memory: unsupported format version {version!r}")
        memory = cls()
        for item, legs in d.get("items", ()):
            memory.items[item] = [list(leg) for leg in legs]
        for event_id, kind, seller, buyer, at, item in d.get("pending", ()):
            memory._add_pending(event_id, kind, seller, buyer, at, item)
        for user, partners in d.get("users", ()):
            memory.users[user] = {partner: [at, gift_id, pay_id] for partner, at, gift_id, pay_id in partners}
        return memory

    # -- housekeeping ----------------------------------------------------------------------

    def is_empty(self) -> bool:
        return not (self.items or self.pending or self.users)

    def expire(self, now: float, params: BehaviourParams) -> None:
        """Drop what is older than the memory window (pending halves: older than twice the
        pairing window, since nothing can pair with them any more; twice, so a payment that
        arrives a little out of order still finds its gift)."""
        cutoff = now - params.memory_window_s
        while self.items:
            item, legs = next(iter(self.items.items()))
            if legs and legs[-1][3] >= cutoff:
                break
            del self.items[item]
        pending_cutoff = now - min(params.memory_window_s, 2 * params.paid_transfer_window_s)
        while self.pending:
            event_id, entry = next(iter(self.pending.items()))
            if entry[3] >= pending_cutoff:
                break
            self._remove_pending(event_id)
        while self.users:
            user, partners = next(iter(self.users.items()))
            # the latest pair is usually the newest: then no need to look at the others
            if partners and (
                next(reversed(partners.values()))[0] >= cutoff or max(pair[0] for pair in partners.values()) >= cutoff
            ):
                break
            del self.users[user]

    # -- pending halves of paid transfers --------------------------------------------------

    def _add_pending(self, event_id: str, kind: str, seller: str, buyer: str, at: float, item: str) -> None:
        self.pending[event_id] = [kind, seller, buyer, at, item]
        self._pending_by_trade.setdefault((seller, buyer, kind), []).append(event_id)

    def _remove_pending(self, event_id: str) -> None:
        kind, seller, buyer, _at, _item = self.pending.pop(event_id)
        waiting = self._pending_by_trade[(seller, buyer, kind)]
        waiting.remove(event_id)
        if not waiting:
            del self._pending_by_trade[(seller, buyer, kind)]


def behaviour_signals(
    event: MiniProgramEvent, memory: BehaviourMemory, params: BehaviourParams
) -> list[BehaviourHit]:
    """Update ``memory`` with ``event``; return its hits, each code at most once, in
    :data:`BEHAVIOUR_SIGNAL_CODES` order."""
    return [BehaviourHit(code, evidence) for code, evidence in behaviour_hits(event, memory, params).items()]


def behaviour_hits(
    event: MiniProgramEvent, memory: BehaviourMemory, params: BehaviourParams
) -> dict[str, tuple[str, ...]]:
    """:func:`behaviour_signals` as ``{code: evidence}`` (in the same order), without a
    :class:`BehaviourHit` per hit: the engine asks this for every mini-program event."""
    hits: dict[str, tuple[str, ...]] = {}
    for rule in _RULES_BY_TYPE.get(event.type, _RULES_FOR_ANY_TYPE):
        rule(event, memory, params, hits)
    if len(hits) <= 1:  # most events: nothing to order
        return hits
    return {code: hits[code] for code in BEHAVIOUR_SIGNAL_CODES if code in hits}


# -- what one event shows by itself -----------------------------------------------------------


def _event_kind(event: MiniProgramEvent, _memory: BehaviourMemory, _params: BehaviourParams, hits: dict) -> None:
    """A listing or a resale is secondary trading; a failed withdrawal counts towards fraud
    (its count and the failed/requested ratio are windowed by the engine's counters)."""
    kind = event.type
    if kind == LISTING_CREATED:
        hits["secondary_listing"] = (event.event_id,)
    elif kind == SALE_SECONDARY:
        hits["secondary_sale"] = (event.event_id,)
    elif kind == WITHDRAWAL_FAILED:
        hits["withdrawal_failure"] = (event.event_id,)


def _price(event: MiniProgramEvent, _memory: BehaviourMemory, params: BehaviourParams, hits: dict) -> None:
    """A price in crypto currency, or a sale, listing or payment at a multiple of the issue price."""
    price = event.price_cents
    if price is None:
        return
    currency = event.currency
    if currency != "CNY" and (currency or "").upper() in CRYPTO_CURRENCIES:
        hits["crypto_settlement"] = (event.event_id,)
    issue_price = event.issue_price_cents
    if event.type in _PREMIUM_TYPES and issue_price and issue_price > 0 and price >= params.premium_ratio * issue_price:
        hits["price_premium"] = (event.event_id,)


# -- hand changes: lock-up, flips, multi-level circulation, wash cycles ----------------------


def _hand_change(
    event: MiniProgramEvent, memory: BehaviourMemory, params: BehaviourParams, hits: dict
) -> None:
    """Listings only read the item's history; gifts and resales also append a leg."""
    item = event.item_id
    if not item:
        return
    at = event.occurred_at
    this = event.event_id
    legs = memory.items.get(item)
    if legs is not None:
        cutoff = at - params.memory_window_s
        while legs and legs[0][3] < cutoff:
            legs.pop(0)
        if any(leg[0] == this for leg in legs):
            return  # a duplicate delivery: already counted
        if not legs:
            del memory.items[item]
    else:
        legs = []

    if event.type == SALE_SECONDARY:
        sender, receiver = event.counterparty_id or "", event.user_id
        acquired = _acquired_from_legs(legs, sender, at)
        if acquired is None and event.acquired_at is not None and event.acquired_at < at:
            acquired = event.acquired_at
    else:  # the giver or lister is user_id, and acquired_at is theirs
        sender, receiver = event.user_id, event.counterparty_id or ""
        acquired = event.acquired_at if event.acquired_at is not None else _acquired_from_legs(legs, sender, at)

    if acquired is not None and 0 <= at - acquired:
        held = at - acquired
        if event.type == TRANSFER_GIFT and held < params.lockup_s:
            hits["lockup_breach"] = (this,) + _ids_into(legs, sender, acquired)
        elif event.type != TRANSFER_GIFT and held < params.rapid_flip_s:
            hits["rapid_flip"] = (this,) + _ids_into(legs, sender, acquired)

    if event.type == LISTING_CREATED:
        return

    if sender != receiver:
        cycle_start = _cycle_start(legs, sender, receiver)
        if cycle_start is not None:
            hits["wash_trading"] = _evidence(this, [leg[0] for leg in legs[cycle_start:]])
    if len(legs) + 1 >= params.multi_level_min_transfers:
        hits["multi_level_circulation"] = _evidence(this, [leg[0] for leg in legs])

    price = event.price_cents if event.price_cents is not None else -1
    _insert_leg(legs, [this, sender, receiver, at, price])
    del legs[: max(0, len(legs) - max(MAX_EVIDENCE, params.multi_level_min_transfers))]
    memory.items.pop(item, None)  # re-insert: the dict order is the touch order
    memory.items[item] = legs
    while len(memory.items) > params.max_items:
        del memory.items[next(iter(memory.items))]


def _acquired_from_legs(legs: list[list[Any]], holder: str, at: float) -> float | None:
    """When ``holder`` last received the item at or before ``at``, if memory saw it."""
    if not holder:
        return None
    for leg in reversed(legs):
        if leg[2] == holder and leg[3] <= at:
            return leg[3]
    return None


def _ids_into(legs: list[list[Any]], holder: str, acquired: float) -> tuple[str, ...]:
    """The leg that brought the item to ``holder`` at ``acquired``, as extra evidence."""
    return tuple(leg[0] for leg in legs if leg[2] == holder and leg[3] == acquired)[-1:]


def _cycle_start(legs: list[list[Any]], sender: str, receiver: str) -> int | None:
    """Index of the first leg of a cycle closed by sender → receiver, or ``None``.

    A cycle: the receiver held the item before, or the sender had already passed it on
    (so it came back to them unseen)."""
    for index, (_id, leg_from, leg_to, _at, _price) in enumerate(legs):
        if leg_from == leg_to:
            continue
        if receiver and (leg_from == receiver or leg_to == receiver):
            return index
        if sender and leg_from == sender:
            return index
    return None


def _insert_leg(legs: list[list[Any]], leg: list[Any]) -> None:
    """Keep legs sorted by time; ties keep arrival order."""
    index = len(legs)
    while index > 0 and legs[index - 1][3] > leg[3]:
        index -= 1
    legs.insert(index, leg)


# -- paid transfers and middlemen -----------------------------------------------------------


def _paid_transfer(
    event: MiniProgramEvent, memory: BehaviourMemory, params: BehaviourParams, hits: dict
) -> None:
    counterparty = event.counterparty_id
    if not counterparty or counterparty == event.user_id:
        return
    if event.type == PAYMENT and event.price_cents == 0:
        return  # a zero payment buys nothing
    this = event.event_id
    if event.type == TRANSFER_GIFT:
        kind, want, seller, buyer = _GIFT, _PAY, event.user_id, counterparty
    else:
        kind, want, seller, buyer = _PAY, _GIFT, counterparty, event.user_id
    if this in memory.pending or this in memory.users.get(seller, {}).get(buyer, ())[1:]:
        return  # a duplicate delivery: already waiting or already paired
    at = event.occurred_at
    item = event.item_id or ""
    match = None
    for other_id in memory._pending_by_trade.get((seller, buyer, want), ()):
        _kind, _seller, _buyer, other_at, other_item = memory.pending[other_id]
        if (
            abs(other_at - at) <= params.paid_transfer_window_s
            and (not item or not other_item or item == other_item)
        ):
            match = other_id
            break
    if match is None:
        memory._add_pending(this, kind, seller, buyer, at, item)
        while len(memory.pending) > params.max_pending:
            memory._remove_pending(next(iter(memory.pending)))
        return
    memory._remove_pending(match)
    hits["paid_transfer"] = (this, match)
    gift_id, pay_id = (this, match) if kind == _GIFT else (match, this)
    _middleman(memory, params, this, seller, buyer, at, gift_id, pay_id, hits)


def _middleman(
    memory: BehaviourMemory,
    params: BehaviourParams,
    this: str,
    seller: str,
    buyer: str,
    at: float,
    gift_id: str,
    pay_id: str,
    hits: dict,
) -> None:
    """Record the pair on both users; a user firing is one whose partner is new and who now
    has at least ``middleman_min_pairs`` distinct partners in the window."""
    evidence: list[str] = []
    cutoff = at - params.memory_window_s
    partner_cap = max(32, 2 * params.middleman_min_pairs)
    for user, partner in ((seller, buyer), (buyer, seller)):
        partners = memory.users.pop(user, None) or {}
        for stale in [p for p, pair in partners.items() if pair[0] < cutoff]:
            del partners[stale]
        is_new = partner not in partners
        partners.pop(partner, None)
        partners[partner] = [at, gift_id, pay_id]
        while len(partners) > partner_cap:
            del partners[next(iter(partners))]
        memory.users[user] = partners
        if is_new and len(partners) >= params.middleman_min_pairs:
            for pair in reversed(partners.values()):
                evidence.extend(pair[1:])
    while len(memory.users) > params.max_users:
        del memory.users[next(iter(memory.users))]
    if evidence:
        hits["middleman"] = _evidence(this, evidence, newest_first=True)


# -- evidence -----------------------------------------------------------------------------------


def _evidence(this: str, others: list[str], *, newest_first: bool = False) -> tuple[str, ...]:
    """This event first, then the others (the most recent ones when there are too many),
    without duplicates, at most :data:`MAX_EVIDENCE` ids."""
    ordered = others if newest_first else list(reversed(others))
    kept: list[str] = []
    seen = {this}
    for event_id in ordered:
        if event_id not in seen:
            seen.add(event_id)
            kept.append(event_id)
            if len(kept) == MAX_EVIDENCE - 1:
                break
    if not newest_first:
        kept.reverse()
    return (this, *kept)


# -- the rules, grouped by the memory they share ----------------------------------------------

Rule = Callable[[MiniProgramEvent, BehaviourMemory, BehaviourParams, dict], None]


@dataclass(frozen=True, slots=True)
class BehaviourRule:
    """One function computing a group of signals from the part of :class:`BehaviourMemory`
    they share. ``event_types`` None: it looks at every event."""

    name: str
    memory: str
    event_types: frozenset[str] | None
    emits: tuple[str, ...]
    apply: Rule


# In this order per event: the order memory is updated in.
BEHAVIOUR_RULES: tuple[BehaviourRule, ...] = (
    BehaviourRule("event_kind", "", frozenset({LISTING_CREATED, SALE_SECONDARY, WITHDRAWAL_FAILED}),
                  ("secondary_listing", "secondary_sale", "withdrawal_failure"), _event_kind),
    BehaviourRule("price", "", None, ("crypto_settlement", "price_premium"), _price),
    BehaviourRule("paid_transfers", "pending, users", frozenset({TRANSFER_GIFT, PAYMENT}),
                  ("paid_transfer", "middleman"), _paid_transfer),
    BehaviourRule("hand_changes", "items", frozenset({TRANSFER_GIFT, SALE_SECONDARY, LISTING_CREATED}),
                  ("lockup_breach", "rapid_flip", "wash_trading", "multi_level_circulation"), _hand_change),
)


def _dispatch(rules: tuple[BehaviourRule, ...]) -> tuple[dict[str, tuple[Rule, ...]], tuple[Rule, ...]]:
    """Per event type, the rule functions to call, in rule order (one lookup per event)."""
    named = sorted({t for rule in rules if rule.event_types for t in rule.event_types})
    by_type = {t: tuple(r.apply for r in rules if r.event_types is None or t in r.event_types) for t in named}
    return by_type, tuple(r.apply for r in rules if r.event_types is None)


_RULES_BY_TYPE, _RULES_FOR_ANY_TYPE = _dispatch(BEHAVIOUR_RULES)
