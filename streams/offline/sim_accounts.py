"""Behaviour scripts for ``tradewatch simulate``: one function per account archetype.

Each script writes an account's posts, its mini programs' events and its qualification
messages into a shared list, and returns the label — the strongest action the policy in
docs/domain.md should end with for it. Timing is chosen so the label is unambiguous: suspended
archetypes keep trading well past the 72-hour grace period, the "stopped" archetype goes
quiet for the last 7+ days, licence-provers are verified within 48 h of starting to trade.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from streams.offline import sim_phrases
from streams.offline.sim_market import DAY, HOUR, MINUTE, Feed, IdSource, arrivals, format_cst

POSTS_TOPIC = "posts.v1"
QUALIFICATIONS_TOPIC = "qualifications.v1"
GRACE_SECONDS = 72 * HOUR
# A trader is labelled "suspend" only if it keeps trading this long after it starts:
# the grace period plus a generous allowance for the detector to notice it first.
SUSPEND_MIN_TRADING_SECONDS = GRACE_SECONDS + 36 * HOUR
STOPPED_QUIET_SECONDS = 7 * DAY
LICENCE_SETS = [
    ["blockchain_filing", "icp"],
    ["blockchain_filing", "icp", "edi"],
    ["blockchain_filing", "icp", "network_culture"],
    ["blockchain_filing", "icp", "edi", "network_culture"],
]

# Licensed leading platforms have FIXED ids (independent of the seed) so that a policy
# file's allowlist can name them. Put these in the default policy's allowlist.
LEADING_PLATFORMS = [
    ("鲸藏数字艺术", "Whale Vault"),
    ("幻核臻藏", "Nucleus Collect"),
    ("百川数藏", "Baichuan Digital"),
]
ALLOWLISTED_ACCOUNT_IDS: tuple[str, ...] = tuple(
    "gh_" + hashlib.sha256(name.encode()).hexdigest()[:12] for name, _ in LEADING_PLATFORMS
)


@dataclass
class Account:
    """One simulated official account and everything it needs to write its traffic."""

    archetype: str
    account_id: str
    name: str
    name_en: str
    app_ids: list[str]
    rng: random.Random
    ids: IdSource
    out: list
    start: int
    end: int
    intensity: float
    expected: str = "none"
    ctx: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ctx = {"platform": self.name, "platform_en": self.name_en}

    # ---- writers -----------------------------------------------------------------------
    def post(self, t: int, kind: str) -> None:
        if not (self.start <= t < self.end):
            return
        title, text = sim_phrases.compose_post(self.rng, kind, self.ctx)
        value: dict[str, str | list[str]] = {
            "event_id": self.ids.event_id(),
            "account_id": self.account_id,
            "account_name": self.name,
            "published_at": format_cst(t),
            "text": text,
        }
        if title:
            value["title"] = title
        if self.rng.random() < 0.4:
            slug = "".join(self.rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", k=22))
            value["links"] = [f"https://mp.weixin.qq.com/s/{slug}"]
        if self.app_ids and self.rng.random() < 0.5:
            value["mini_program_ids"] = list(self.app_ids)
        self.out.append((t, POSTS_TOPIC, self.account_id, value))

    def posts(self, t0: float, t1: float, per_day: float, kinds: dict[str, float]) -> None:
        names, weights = list(kinds), list(kinds.values())
        for t in arrivals(self.rng, t0, t1, per_day * self.intensity):
            self.post(t, self.rng.choices(names, weights)[0])

    def qualification(self, t: int, status: str, licences: list[str] | None = None,
                      valid_until: int | None = None) -> None:
        if not (self.start <= t < self.end):
            return
        value: dict = {"account_id": self.account_id, "status": status, "updated_at": format_cst(t)}
        if licences:
            value["licences"] = list(licences)
        if valid_until is not None:
            value["valid_until"] = format_cst(valid_until)
        self.out.append((t, QUALIFICATIONS_TOPIC, self.account_id, value))

    def feed(self, users: tuple[int, int] = (60, 250)) -> Feed:
        feed = Feed(self.rng, self.ids, self.account_id, self.app_ids, self.out, self.start, self.end)
        feed.add_users(self.rng.randint(*users))
        return feed

    def rate(self, per_day: float) -> float:
        return per_day * self.intensity

    def span(self) -> int:
        return self.end - self.start


class Schedule:
    """Behaviour steps run in time order, so the market's state stays coherent."""

    def __init__(self) -> None:
        self._steps: list[tuple[int, int, Callable[[], None]]] = []

    def at(self, t: int, step: Callable[[], None]) -> None:
        self._steps.append((t, len(self._steps), step))

    def every(self, times: list[int], action: Callable[[int], None]) -> None:
        for t in times:
            self.at(t, functools.partial(action, t))

    def run(self) -> None:
        for _, _, step in sorted(self._steps, key=lambda s: (s[0], s[1])):
            step()


# ---- shared pieces --------------------------------------------------------------------------

def _trade_start(acc: Account) -> int:
    return acc.start + int(acc.rng.uniform(0, min(2 * DAY, 0.2 * acc.span())))


def _suspend_or_reminder(acc: Account, trade_start: int) -> str:
    return "suspend" if acc.end - trade_start >= SUSPEND_MIN_TRADING_SECONDS else "reminder"


def _drops(acc: Account, sched: Schedule, feed: Feed, t0: float, t1: float, every_days: float,
           size: tuple[int, int]) -> None:
    """Primary drops: a new series goes on sale every few days, usually in the evening."""
    for t in arrivals(acc.rng, t0, t1, 1 / every_days):
        count = max(1, int(acc.rng.randint(*size) * acc.intensity))
        sched.at(t, functools.partial(feed.primary_drop, t, count))


def _market_feed(acc: Account, premium: tuple[float, float], holdings: int) -> Feed:
    feed = acc.feed()
    for _ in range(acc.rng.randint(2, 4)):
        feed.new_collection(premium)
    feed.seed_holdings(holdings, acc.start - 20 * DAY, acc.start - HOUR)
    return feed


def _unlicensed_paperwork(acc: Account, trade_start: int) -> None:
    """Some unlicensed traders file papers that get rejected, or hold an expired licence."""
    roll = acc.rng.random()
    if roll < 0.2:
        submitted = trade_start + int(acc.rng.uniform(12 * HOUR, 60 * HOUR))
        acc.qualification(submitted, "submitted", ["icp"])
        acc.qualification(submitted + int(acc.rng.uniform(4 * HOUR, 30 * HOUR)), "rejected", ["icp"])
    elif roll < 0.3:
        acc.qualification(acc.start + int(acc.rng.uniform(0, 6 * HOUR)), "expired", ["icp"],
                          valid_until=acc.start - int(acc.rng.uniform(5 * DAY, 90 * DAY)))


# ---- archetypes ----------------------------------------------------------------------------

def open_market(acc: Account, kind: str = "open_market", flip_bias: float = 0.2,
                per_day: float = 24, crypto_share: float = 0.0) -> int:
    """An unlicensed platform opens a resale market and keeps it open. Returns trade start."""
    trade_start = _trade_start(acc)
    feed = _market_feed(acc, (5, 60), holdings=acc.rng.randint(150, 400))
    sched = Schedule()
    _drops(acc, sched, feed, acc.start, acc.end, 2.0, (15, 40))
    sched.every(arrivals(acc.rng, trade_start, acc.end, acc.rate(per_day)),
                lambda t: feed.market_episode(t, flip_bias, crypto_share))
    sched.run()
    acc.post(trade_start + int(acc.rng.uniform(0, 40 * MINUTE)), kind)
    acc.posts(acc.start, trade_start, 1.5, {"primary": 1})
    acc.posts(trade_start, acc.end, 2.5, {kind: 0.6, "primary": 0.4})
    acc.expected = _suspend_or_reminder(acc, trade_start)
    return trade_start


def unlicensed_market(acc: Account) -> None:
    trade_start = open_market(acc)
    _unlicensed_paperwork(acc, trade_start)


def consignment(acc: Account) -> None:
    trade_start = open_market(acc, kind="consignment", flip_bias=0.6, per_day=30)
    _unlicensed_paperwork(acc, trade_start)


def disguised(acc: Account) -> None:
    """Trading dressed up as gifting: gift + payment pairs, middlemen, contact handles."""
    trade_start = _trade_start(acc)
    feed = _market_feed(acc, (4, 40), holdings=acc.rng.randint(120, 300))
    feed.seed_holdings(60, acc.start - 2 * DAY, acc.start - 10 * MINUTE)  # fresh stock: lock-up breaches
    feed.middlemen = acc.rng.sample(feed.users, acc.rng.randint(2, 4))
    sched = Schedule()
    _drops(acc, sched, feed, acc.start, acc.end, 2.5, (10, 30))
    sched.every(arrivals(acc.rng, trade_start, acc.end, acc.rate(14)),
                lambda t: feed.paired_deal(t, middleman_share=0.35))
    sched.run()
    acc.posts(acc.start, trade_start, 1.2, {"primary": 1})
    acc.posts(trade_start, acc.end, 3, {"disguised": 0.55, "primary": 0.45})
    acc.expected = _suspend_or_reminder(acc, trade_start)


def crypto_settled(acc: Account) -> None:
    trade_start = open_market(acc, kind="crypto", per_day=22, crypto_share=0.65)
    _unlicensed_paperwork(acc, trade_start)


def fraud_platform(acc: Account) -> None:
    """Buy-back promises, a pumped market, then a bank run on frozen withdrawals."""
    fraud_start = acc.start + int(acc.rng.uniform(0, 0.15 * acc.span()))
    collapse = fraud_start + int(acc.rng.uniform(0.2, 0.4) * acc.span())
    feed = _market_feed(acc, (3, 30), holdings=acc.rng.randint(100, 250))
    sched = Schedule()
    _drops(acc, sched, feed, acc.start, collapse, 0.8, (20, 50))
    sched.every(arrivals(acc.rng, fraud_start, acc.end, acc.rate(8)),
                lambda t: feed.market_episode(t, flip_bias=0.3))
    sched.every(arrivals(acc.rng, fraud_start, collapse, acc.rate(6)),
                lambda t: feed.withdrawal(t, fail_probability=0.08))
    sched.every(arrivals(acc.rng, collapse, acc.end, acc.rate(35)),
                lambda t: feed.withdrawal(t, fail_probability=acc.rng.uniform(0.75, 0.95)))
    sched.run()
    acc.post(fraud_start + int(acc.rng.uniform(0, HOUR)), "fraud_promise")
    acc.posts(acc.start, fraud_start, 1.2, {"primary": 1})
    acc.posts(fraud_start, collapse, 3, {"fraud_promise": 0.6, "primary": 0.4})
    acc.posts(collapse, acc.end, 2.5, {"fraud_excuse": 0.7, "fraud_promise": 0.3})
    acc.expected = "suspend"


def licensed_in_time(acc: Account) -> None:
    """Trades like an open market, then proves a verified licence within 48 h."""
    trade_start = open_market(acc)
    submitted = trade_start + int(acc.rng.uniform(20 * HOUR, 36 * HOUR))
    licences = acc.rng.choice(LICENCE_SETS)
    acc.qualification(submitted, "submitted", licences)
    last = submitted
    if acc.rng.random() < 0.3:  # first attempt rejected (e.g. EDI licence missing), resubmitted
        rejected = submitted + int(acc.rng.uniform(HOUR, 3 * HOUR))
        acc.qualification(rejected, "rejected", licences)
        last = rejected + int(acc.rng.uniform(HOUR, 2 * HOUR))
        acc.qualification(last, "submitted", licences)
    verified = min(last + int(acc.rng.uniform(2 * HOUR, 8 * HOUR)), trade_start + 47 * HOUR)
    acc.qualification(verified, "verified", licences, valid_until=verified + 365 * DAY)
    acc.posts(verified, acc.end, 0.3, {"licensed": 1})
    acc.expected = "reminder"


def stopped_trading(acc: Account) -> None:
    """Runs a resale market for two to three hours, closes it (before its grace period's
    notice hours are over: the policy judges the trading after them), then sells only
    first-hand."""
    trade_start = acc.start + int(acc.rng.uniform(0, 12 * HOUR))
    stop = trade_start + int(acc.rng.uniform(2 * HOUR, 3 * HOUR))
    feed = _market_feed(acc, (5, 40), holdings=acc.rng.randint(150, 300))
    sched = Schedule()
    _drops(acc, sched, feed, acc.start, acc.end, 2.0, (15, 40))
    sched.every(arrivals(acc.rng, trade_start, stop - HOUR, acc.rate(400)),
                lambda t: feed.market_episode(t, flip_bias=0.25, sell_ratio=0.9))
    sched.every(arrivals(acc.rng, stop, acc.end, acc.rate(3)), feed.airdrop)
    sched.run()
    acc.post(trade_start + int(acc.rng.uniform(0, 30 * MINUTE)), "open_market")
    acc.posts(trade_start, stop, 12, {"open_market": 0.6, "primary": 0.4})
    acc.post(stop + int(acc.rng.uniform(HOUR, 3 * HOUR)), "stop_trading")
    acc.posts(stop + 4 * HOUR, acc.end, 2, {"primary": 1})
    acc.expected = "reminder"


def _primary_platform(acc: Account, drop_every: float, drop_size: tuple[int, int],
                      airdrops: float, gifts: float) -> None:
    """First-hand sales, airdrops and free gifts of long-held items: allowed everywhere."""
    feed = acc.feed()
    feed.new_collection()
    feed.seed_holdings(acc.rng.randint(150, 300), acc.start - 400 * DAY, acc.start - 182 * DAY)
    feed.seed_holdings(acc.rng.randint(50, 150), acc.start - 30 * DAY, acc.start - DAY)
    begin = acc.start + 15 * MINUTE
    sched = Schedule()
    _drops(acc, sched, feed, begin, acc.end, drop_every, drop_size)
    sched.every(arrivals(acc.rng, begin, acc.end, acc.rate(airdrops)), feed.airdrop)
    sched.every(arrivals(acc.rng, begin, acc.end, acc.rate(gifts)),
                lambda t: feed.free_gift(t, min_holding_seconds=181 * DAY))
    sched.run()


def _verified_at_start(acc: Account) -> None:
    licences = acc.rng.choice(LICENCE_SETS)
    acc.qualification(acc.start + int(acc.rng.uniform(0, 5 * MINUTE)), "verified", licences,
                      valid_until=acc.start + int(acc.rng.uniform(120 * DAY, 400 * DAY)))


def licensed_primary(acc: Account) -> None:
    _verified_at_start(acc)
    _primary_platform(acc, drop_every=1.5, drop_size=(20, 60), airdrops=4, gifts=3)
    acc.posts(acc.start + 15 * MINUTE, acc.end, 2.5, {"primary": 0.75, "licensed": 0.1, "compliance": 0.15})


def unlicensed_primary(acc: Account) -> None:
    _primary_platform(acc, drop_every=2.0, drop_size=(15, 50), airdrops=2, gifts=0.7)
    acc.posts(acc.start, acc.end, 2, {"primary": 1})


def compliance_notice(acc: Account) -> None:
    if acc.rng.random() < 0.5:
        _verified_at_start(acc)
    _primary_platform(acc, drop_every=2.5, drop_size=(10, 30), airdrops=1, gifts=0.3)
    acc.posts(acc.start + 15 * MINUTE, acc.end, 2, {"compliance": 0.5, "primary": 0.5})


def allowlisted_leader(acc: Account) -> None:
    _verified_at_start(acc)
    _primary_platform(acc, drop_every=1.0, drop_size=(80, 150), airdrops=8, gifts=15)
    acc.posts(acc.start + 15 * MINUTE, acc.end, 3, {"leader": 0.4, "primary": 0.5, "compliance": 0.1})


def news_regulator(acc: Account) -> None:
    acc.posts(acc.start, acc.end, 4, {"news": 1})


def stock_commentary(acc: Account) -> None:
    acc.posts(acc.start, acc.end, 3.5, {"stock": 1})


def secondhand_goods(acc: Account) -> None:
    acc.posts(acc.start, acc.end, 2, {"secondhand": 1})


@dataclass(frozen=True)
class Archetype:
    name: str
    weight: float
    script: Callable[[Account], None]
    apps: tuple[int, int]  # how many mini programs the account owns (min, max)
    names: str  # which kind of display name it gets


ARCHETYPES: list[Archetype] = [
    Archetype("open_market", 10, unlicensed_market, (1, 2), "platform"),
    Archetype("consignment_c2c", 8, consignment, (1, 2), "platform"),
    Archetype("disguised_trading", 8, disguised, (1, 1), "platform"),
    Archetype("crypto_settled", 6, crypto_settled, (1, 2), "platform"),
    Archetype("fraud_platform", 6, fraud_platform, (1, 2), "platform"),
    Archetype("licensed_in_time", 6, licensed_in_time, (1, 2), "platform"),
    Archetype("stopped_trading", 5, stopped_trading, (1, 1), "platform"),
    Archetype("licensed_primary", 10, licensed_primary, (1, 2), "platform"),
    Archetype("unlicensed_primary", 8, unlicensed_primary, (1, 1), "platform"),
    Archetype("compliance_notice", 6, compliance_notice, (1, 1), "platform"),
    Archetype("news_regulator", 10, news_regulator, (0, 0), "news"),
    Archetype("stock_commentary", 8, stock_commentary, (0, 0), "stock"),
    Archetype("secondhand_goods", 8, secondhand_goods, (0, 0), "secondhand"),
    Archetype("allowlisted_leader", 0, allowlisted_leader, (2, 3), "leader"),
]
ARCHETYPE_BY_NAME = {a.name: a for a in ARCHETYPES}


def display_name(rng: random.Random, kind: str) -> tuple[str, str]:
    """(Chinese display name, English name) fitting the kind of account."""
    if kind == "platform":
        return sim_phrases.platform_name(rng), rng.choice(sim_phrases.PLATFORM_EN)
    head = rng.choice(["老张", "小鹿", "江南", "北辰", "明哥", "蓝海", "东方", "阿飞", "金石", "城南"])
    if kind == "news":
        if rng.random() < 0.3:
            return rng.choice(sim_phrases.REGULATORS), "Regulator"
        return rng.choice(sim_phrases.MEDIA) + rng.choice(["", "观察", "快讯", "科技"]), "News"
    if kind == "stock":
        return head + rng.choice(["说股", "投研", "基金观察", "财经笔记", "价值投资"]), "Markets"
    return head + rng.choice(["二手数码", "拍卖行", "票务", "闲置好物", "游戏工作室"]), "Shop"
