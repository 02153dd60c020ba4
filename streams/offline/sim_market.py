"""Mini-program event generation for ``tradewatch simulate``: one platform's market.

A :class:`Feed` keeps a small, coherent world — collections, items, who holds them since
when — so that flips, resales of the same item, gift/payment pairs and premiums come out
of behaviour (a buyer relisting what they just bought) rather than being stamped on
individual events.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from streams.core import events as ev
from streams.offline import sim_phrases

DAY = 86_400
HOUR = 3_600
MINUTE = 60
CST = timezone(timedelta(hours=8))
MINIPROGRAM_TOPIC = "miniprogram.events.v1"

# Mini-program traffic follows the day: quiet at night, busiest in the evening (UTC+8).
_HOUR_WEIGHT = [0.25, 0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.35, 0.5, 0.6, 0.65, 0.7,
                0.75, 0.7, 0.7, 0.7, 0.75, 0.8, 0.85, 0.95, 1.0, 1.0, 0.85, 0.5]
_MEAN_WEIGHT = sum(_HOUR_WEIGHT) / 24
_ISSUE_PRICES_CENTS = [990, 1990, 2990, 3990, 5990, 9900, 12800, 19900]
# Crypto-settled sales keep ``price_cents`` in fen (the platform's book price, as the
# contract says) and name the settlement coin in ``currency``.


def format_cst(epoch_seconds: int) -> str:
    """RFC 3339 with the +08:00 offset the upstream producers (China Standard Time) use."""
    return datetime.fromtimestamp(epoch_seconds, CST).isoformat()


def arrivals(rng: random.Random, t0: float, t1: float, per_day: float) -> list[int]:
    """Event times in [t0, t1) at ``per_day`` on average, shaped by the hour of day."""
    if per_day <= 0 or t1 <= t0:
        return []
    rate = per_day / _MEAN_WEIGHT / DAY
    times: list[int] = []
    t = t0
    while True:
        t += rng.expovariate(rate)
        if t >= t1:
            return times
        hour = int((t + 8 * HOUR) // HOUR) % 24
        if rng.random() < _HOUR_WEIGHT[hour]:
            times.append(int(t))


class IdSource:
    """Seeded identifiers: the same seed always yields the same ids, and none repeat."""

    _USER_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make) -> str:
        while True:
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value

    def account_id(self) -> str:
        return self._unique(lambda: f"gh_{self.rng.getrandbits(48):012x}")

    def app_id(self) -> str:
        return self._unique(lambda: f"wx{self.rng.getrandbits(64):016x}")

    def user_id(self) -> str:
        # WeChat-openid-like: "o" + 27 url-safe characters.
        return self._unique(lambda: "o" + "".join(self.rng.choices(self._USER_ALPHABET, k=27)))

    def collection_id(self) -> str:
        return self._unique(lambda: f"col_{self.rng.getrandbits(40):010x}")

    def event_id(self) -> str:
        """A version-4-shaped UUID drawn from the seeded RNG (collisions: 2^-122)."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


@dataclass(slots=True)
class Collection:
    collection_id: str
    name: str
    issue_price_cents: int
    premium: float  # current market price / issue price
    minted: int = 0


@dataclass(slots=True)
class Item:
    item_id: str
    collection: Collection
    owner: str
    acquired_at: int
    busy_until: int = 0
    gifted: bool = False


@dataclass
class Feed:
    """All mini-program events of one official account's apps, in a coherent little market."""

    rng: random.Random
    ids: IdSource
    owner_account_id: str
    app_ids: list[str]
    out: list  # (t, topic, key, value) tuples, shared with the caller
    start: int
    end: int
    users: list[str] = field(default_factory=list)
    collections: list[Collection] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    recent_buys: deque = field(default_factory=lambda: deque(maxlen=60))
    middlemen: list[str] = field(default_factory=list)

    # ---- world -------------------------------------------------------------------------
    def add_users(self, count: int) -> None:
        self.users.extend(self.ids.user_id() for _ in range(count))

    def new_collection(self, premium_range: tuple[float, float] = (1.0, 1.0)) -> Collection:
        low, high = premium_range
        premium = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        collection = Collection(
            collection_id=self.ids.collection_id(),
            name=sim_phrases.series_name(self.rng),
            issue_price_cents=self.rng.choice(_ISSUE_PRICES_CENTS),
            premium=premium,
        )
        self.collections.append(collection)
        return collection

    def _mint(self, collection: Collection, owner: str, at: int) -> Item:
        collection.minted += 1
        item = Item(f"{collection.collection_id}-{collection.minted:05d}", collection, owner, at)
        self.items.append(item)
        return item

    def seed_holdings(self, count: int, oldest: int, newest: int) -> None:
        """Items users already hold when the recording starts (no events for them)."""
        if not self.collections:
            self.new_collection()
        for _ in range(count):
            collection = self.rng.choice(self.collections)
            self._mint(collection, self.rng.choice(self.users), self.rng.randint(oldest, newest))

    # ---- emission ----------------------------------------------------------------------
    def emit(self, t: int, etype: str, user: str, app_id: str | None = None, **fields) -> None:
        if not (self.start <= t < self.end):
            return
        app = app_id or self.app_ids[0]
        value = {
            "event_id": self.ids.event_id(),
            "app_id": app,
            "owner_account_id": self.owner_account_id,
            "occurred_at": format_cst(t),
            "type": etype,
            "user_id": user,
        }
        for name, field_value in fields.items():
            if field_value is None:
                continue
            value[name] = format_cst(field_value) if name == "acquired_at" else field_value
        self.out.append((t, MINIPROGRAM_TOPIC, app, value))

    def _app(self) -> str:
        return self.app_ids[0] if len(self.app_ids) == 1 or self.rng.random() < 0.7 else self.rng.choice(self.app_ids)

    def _other_user(self, not_this: str) -> str:
        while True:
            user = self.rng.choice(self.users)
            if user != not_this:
                return user

    def _free_item(self, t: int, flip_bias: float = 0.0) -> Item | None:
        if flip_bias and self.recent_buys and self.rng.random() < flip_bias:
            item = self.recent_buys[-1 - self.rng.randrange(min(8, len(self.recent_buys)))]
            if item.busy_until <= t and item.acquired_at <= t:
                return item
        for _ in range(6):
            item = self.rng.choice(self.items)
            if item.busy_until <= t and item.acquired_at <= t:
                return item
        return None

    def _price(self, collection: Collection) -> int:
        """A listing price in fen around the series' current premium."""
        return max(1, round(collection.issue_price_cents * collection.premium * self.rng.uniform(0.85, 1.2)))

    # ---- behaviours --------------------------------------------------------------------
    def primary_drop(self, t: int, count: int, collection: Collection | None = None) -> None:
        """A snap-up: ``count`` first-hand sales within about half an hour of the drop."""
        collection = collection or self.new_collection()
        app = self._app()
        for _ in range(count):
            at = t + int(self.rng.expovariate(1 / (6 * MINUTE)))
            buyer = self.rng.choice(self.users)
            item = self._mint(collection, buyer, at)
            price = collection.issue_price_cents
            self.emit(at, ev.SALE_PRIMARY, buyer, app, item_id=item.item_id,
                      collection_id=collection.collection_id, price_cents=price,
                      issue_price_cents=price, currency="CNY")

    def airdrop(self, t: int) -> None:
        collection = self.rng.choice(self.collections) if self.collections else self.new_collection()
        user = self.rng.choice(self.users)
        item = self._mint(collection, user, t)
        self.emit(t, ev.AIRDROP, user, self._app(), item_id=item.item_id,
                  collection_id=collection.collection_id, issue_price_cents=collection.issue_price_cents)

    def market_episode(self, t: int, flip_bias: float, crypto_share: float = 0.0,
                       sell_ratio: float = 0.75) -> None:
        """A user lists an item; most listings sell within the hour, some are withdrawn."""
        item = self._free_item(t, flip_bias)
        if item is None:
            return
        collection = item.collection
        collection.premium = min(270.0, max(2.0, collection.premium * self.rng.uniform(0.96, 1.08)))
        currency = "CNY"
        if crypto_share and self.rng.random() < crypto_share:
            currency = self.rng.choice(["USDT", "USDT", "USDT", "ETH", "BTC"])
        price, issue = self._price(collection), collection.issue_price_cents
        app = self._app()
        seller = item.owner
        self.emit(t, ev.LISTING_CREATED, seller, app, item_id=item.item_id,
                  collection_id=collection.collection_id, price_cents=price,
                  issue_price_cents=issue, currency=currency, acquired_at=item.acquired_at)
        if self.rng.random() < sell_ratio:
            sold_at = t + 20 + int(self.rng.expovariate(1 / (35 * MINUTE)))
            buyer = self._other_user(seller)
            self.emit(sold_at, ev.SALE_SECONDARY, buyer, app, counterparty_id=seller,
                      item_id=item.item_id, collection_id=collection.collection_id,
                      price_cents=price, issue_price_cents=issue, currency=currency)
            item.owner, item.acquired_at, item.busy_until = buyer, sold_at, sold_at
            self.recent_buys.append(item)
        else:
            cancelled_at = t + int(self.rng.uniform(10 * MINUTE, 8 * HOUR))
            self.emit(cancelled_at, ev.LISTING_CANCELLED, seller, app, item_id=item.item_id,
                      collection_id=collection.collection_id, price_cents=price, currency=currency)
            item.busy_until = cancelled_at

    def paired_deal(self, t: int, middleman_share: float = 0.3) -> None:
        """An off-platform sale settled in-app: a free gift and a payment between the same two
        users within minutes (either order), sometimes routed through a middleman."""
        item = self._free_item(t, flip_bias=0.3)
        if item is None:
            return
        app = self._app()
        seller = item.owner
        buyer = self._other_user(seller)
        price = max(100, round(item.collection.issue_price_cents * item.collection.premium
                               * self.rng.uniform(0.8, 1.3) / 100) * 100)  # whole yuan, as agreed in chat
        if self.middlemen and self.rng.random() < middleman_share:
            middleman = self.rng.choice(self.middlemen)
            if middleman not in (seller, buyer):
                handed_at = self._gift_and_pay(t, app, item, seller, middleman, round(price * 0.95))
                self._gift_and_pay(handed_at + int(self.rng.uniform(3 * MINUTE, 50 * MINUTE)),
                                   app, item, middleman, buyer, price)
                return
        self._gift_and_pay(t, app, item, seller, buyer, price)

    def _gift_and_pay(self, t: int, app: str, item: Item, giver: str, payer: str, price: int) -> int:
        gap = int(self.rng.uniform(40, 20 * MINUTE))
        gift_first = self.rng.random() < 0.45
        gift_at, pay_at = (t, t + gap) if gift_first else (t + gap, t)
        self.emit(pay_at, ev.PAYMENT, payer, app, counterparty_id=giver, price_cents=price, currency="CNY")
        self.emit(gift_at, ev.TRANSFER_GIFT, giver, app, counterparty_id=payer, item_id=item.item_id,
                  collection_id=item.collection.collection_id,
                  issue_price_cents=item.collection.issue_price_cents, acquired_at=item.acquired_at)
        item.owner, item.acquired_at, item.busy_until = payer, gift_at, max(gift_at, pay_at)
        self.recent_buys.append(item)
        return max(gift_at, pay_at)

    def free_gift(self, t: int, min_holding_seconds: int) -> None:
        """A holder gives an item away for free after the holding period; one level only."""
        for _ in range(8):
            item = self.rng.choice(self.items)
            if not item.gifted and item.busy_until <= t and item.acquired_at <= t - min_holding_seconds:
                break
        else:
            return
        recipient = self._other_user(item.owner)
        self.emit(t, ev.TRANSFER_GIFT, item.owner, self._app(), counterparty_id=recipient,
                  item_id=item.item_id, collection_id=item.collection.collection_id,
                  acquired_at=item.acquired_at)
        item.owner, item.acquired_at, item.gifted, item.busy_until = recipient, t, True, t

    def withdrawal(self, t: int, fail_probability: float) -> None:
        """A user cashes out their balance; on a collapsing platform most attempts fail."""
        user = self.rng.choice(self.users)
        amount = self.rng.randint(50, 20_000) * 100
        withdrawal_id = self.ids.event_id()
        app = self._app()
        self.emit(t, ev.WITHDRAWAL_REQUESTED, user, app, withdrawal_id=withdrawal_id, amount_cents=amount,
                  currency="CNY")
        if self.rng.random() < fail_probability:
            reason = self.rng.choice(["通道维护", "风控审核中", "余额不足", "未达提现门槛", "system busy"])
            self.emit(t + int(self.rng.uniform(MINUTE, 6 * HOUR)), ev.WITHDRAWAL_FAILED, user, app,
                      withdrawal_id=withdrawal_id, amount_cents=amount, currency="CNY",
                      failure_reason=reason)
